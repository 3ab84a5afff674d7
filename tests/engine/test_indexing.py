"""The indexing scenario: plans, never times.

On 20,000 interleaved tasks (50 users of 400: enough for the planner to prefer an index to
reading the table, and for a user's rows to lie on many pages), every implementation's own
SQL is captured at its driver hook and explained under each index set, as the benchmark
does; the assertions are on the plans PostgreSQL chose. Then the scenario runs for real
through the runner (quick data, one round) for what the results carry: the write-cost rows,
the index sizes, a plan on every read row.
"""

from collections.abc import Iterator
from typing import Any

import pytest

import scenarios
from benchmarks.database import Server, fresh_database
from benchmarks.report.indexing import plan_differences, plan_of
from benchmarks.report.rows import Run
from benchmarks.runner import Runner, Timing
from implementations import IMPLEMENTATIONS
from implementations.contract.counting import Sent, counting, record
from scenarios import index_sets, indexing, seed, shapes

ONE_ROUND = Timing(warmup_calls=1, min_rounds=1, max_rounds=1, round_seconds=0.0, pair_seconds=0.0)
USERS, PER_USER = 50, 400
LISTINGS = ("open_newest", "deep_page", "priority_min", "by_title")
EXPLAINED = (*LISTINGS, "stats", "delete_user")


@pytest.fixture(scope="module")
def own(server: Server) -> Iterator[Runner]:
    """A runner on a database made for the scenario, as the benchmark gives it one."""
    with (
        fresh_database(server) as url,
        Runner(url, list(IMPLEMENTATIONS), "quick", own_database=True) as runner,
    ):
        yield runner


def explained(runner: Runner, params: dict[str, Any], data: dict, variant: str) -> list[dict]:
    """One row per implementation, as the runner builds it: the plans of the SQL it sent."""
    rows = []
    for implementation, port in runner.ports.items():
        chosen = indexing.VARIANTS[variant]
        ops = indexing.ops(runner.db, data, params, 1)
        sent = runner.sent(implementation, chosen, ops[0])
        plans = indexing.explain(runner.db, variant, port.driver, sent, ops[0], data)
        indexing.after(runner.db, data, ops)
        rows.append(
            {
                "scenario": "indexing",
                "variant": variant,
                "label": chosen.label,
                "implementation": implementation,
                "params": params,
                "plans": plans,
                "sent": sent,
                "setup": data["setup"],
            }
        )
    return rows


@pytest.fixture(scope="module")
def plans(own: Runner) -> dict[str, dict[str, list[dict]]]:
    """index set -> variant -> one row per implementation."""
    found: dict[str, dict[str, list[dict]]] = {}
    for name in index_sets.SETS:
        params = {"index_set": name, "users": USERS, "tasks_per_user": PER_USER, "insert_rows": 10}
        own.db.reset()
        data = indexing.setup(own.db, params)
        found[name] = {variant: explained(own, params, data, variant) for variant in EXPLAINED}
    return found


def accesses(rows: list[dict]) -> dict[str, str]:
    return {row["implementation"]: plan_of(row)["access"] for row in rows}


def test_the_composite_index_serves_the_filtered_listing(plans: dict) -> None:
    for implementation, access in accesses(plans["migrations"]["open_newest"]).items():
        assert "using ix_tasks_user_id_completed_created_at" in access, (implementation, access)


def test_with_primary_keys_only_the_listing_reads_the_whole_table(plans: dict) -> None:
    for variant in LISTINGS:
        for implementation, access in accesses(plans["pk_only"][variant]).items():
            assert "Seq Scan" in access, (variant, implementation)
            assert "Index" not in access, (variant, implementation)


def test_the_covering_index_gives_an_index_only_scan_after_vacuum(plans: dict) -> None:
    for row in plans["covering"]["stats"]:
        plan = plan_of(row)
        assert plan["access"] == (
            "Index Only Scan using ix_tasks_user_id_completed_created_at_id"
        ), row["implementation"]
        assert plan["heap_fetches"] == 0, row["implementation"]  # every page all-visible
    for row in plans["migrations"]["stats"]:  # without it the heap is read
        assert "Index Only Scan" not in plan_of(row)["access"]


def test_the_delete_plan_shows_how_its_cascade_finds_the_tasks(plans: dict) -> None:
    for row in plans["pk_only"]["delete_user"]:
        assert plan_of(row)["access"] == "Seq Scan", row["implementation"]
        assert plan_of(row)["rows"] == indexing.PAGE
        nested = [n["query"] for p in row["plans"] for n in p["nested"]]
        assert any("DELETE FROM ONLY" in query for query in nested)  # the foreign key's own
    for row in plans["migrations"]["delete_user"]:  # an index that leads with user_id
        access = plan_of(row)["access"]
        assert "ix_tasks_user_id" in access, access
        assert "Seq Scan" not in access


def test_every_implementation_gets_the_same_plan_or_the_report_says_why(plans: dict) -> None:
    for name, by_variant in plans.items():
        # The filtered listing: one plan for all five under every set.
        assert len(set(accesses(by_variant["open_newest"]).values())) == 1, name
        rows = [row for variant in EXPLAINED for row in by_variant[variant]]
        run = Run({"meta": {"profile": "quick"}, "results": rows})
        notes = plan_differences(run, "indexing", rows)
        noted = notes.items if notes else []
        for variant in EXPLAINED:
            found = accesses(by_variant[variant])
            if len(set(found.values())) > 1:
                label = indexing.VARIANTS[variant].label
                note = next((item for item in noted if item.startswith(label)), None)
                assert note is not None, (name, variant, found)
                assert all(access in note for access in found.values())


def test_what_is_explained_is_what_each_implementation_sent(plans: dict) -> None:
    for row in plans["migrations"]["open_newest"]:
        sent: list[Sent] = row["sent"]
        assert [p["sql"] for p in row["plans"]] == [s.sql for s in sent]
        floor = row["implementation"].startswith("raw_")
        assert len(sent) == (1 if floor else 2)  # the ORMs check the user first
        driver = IMPLEMENTATIONS[row["implementation"]][0]
        kinds = {p["plan_kind"] for p in row["plans"]}
        # psycopg2 spells the values out: always a custom plan.
        assert kinds == {"custom"} if driver == "psycopg2" else kinds <= {"custom", "generic"}
        assert "$1" in sent[-1].sql if driver == "asyncpg" else "%(" in sent[-1].sql


def test_capturing_is_off_unless_asked_for() -> None:
    with counting() as plain:
        record("SELECT 1", params=(1,))
    with counting(capture=True) as captured:
        record("SELECT $1", params=(1,))
        record("INSERT INTO t VALUES ($1)", executions=2, params=[(1,), (2,)])
        record("COMMIT")
    assert plain.sent is None
    assert plain.statements == 1
    assert captured.sent == [
        Sent("SELECT $1", (1,), 1),
        Sent("INSERT INTO t VALUES ($1)", [(1,), (2,)], 2),
    ]


def test_index_sets_are_never_applied_to_a_shared_database(database_url: str) -> None:
    db = seed.Database(database_url)  # the test session's database: not made for a scenario
    try:
        with pytest.raises(RuntimeError, match="database made for the scenario"):
            index_sets.strip(db)
        assert db.value("SELECT count(*) FROM pg_indexes WHERE tablename = 'tasks'") > 1
    finally:
        db.close()


def test_every_variant_check_rejects_a_wrong_result(own: Runner) -> None:
    """test_verification.py's check for this scenario, in its own database."""
    params = indexing.PARAMS["quick"][0]
    own.db.reset()
    data = indexing.setup(own.db, params)
    for variant in indexing.VARIANTS:
        implementation = next(n for n, p in own.ports.items() if variant.applies_to(p))
        ops = indexing.ops(own.db, data, params, 1)
        result = own.call(implementation, variant, ops[0])
        indexing.verify(own.db, variant.name, result, ops[0], data)
        for wrong in corruptions(variant.name, result):
            with pytest.raises(scenarios.WrongResult):
                indexing.verify(own.db, variant.name, wrong, ops[0], data)
        indexing.after(own.db, data, ops)


def corruptions(variant: str, result: Any) -> list[Any]:
    if variant in indexing.REFERENCE:
        rows = [shapes.task(row) for row in result]
        assert rows, f"{variant} returned no row: nothing to corrupt"
        wrong = [rows[:-1], [{**rows[0], "title": "other"}, *rows[1:]], [*rows, rows[0]]]
        return wrong + ([list(reversed(rows))] if len(rows) > 1 else [])
    if variant == "stats":
        stats = shapes.plain(result, ("total", "completed", "pending", "avg_priority"))
        return [{**stats, "total": stats["total"] + 1}, {**stats, "avg_priority": -1.0}]
    if variant == "delete_user":
        return []  # its check reads the database; the corruption is a user left there
    return [result + 1, result - 1]


def test_a_delete_that_deleted_nothing_is_refused(own: Runner) -> None:
    params = indexing.PARAMS["quick"][0]
    own.db.reset()
    data = indexing.setup(own.db, params)
    ops = indexing.ops(own.db, data, params, 1)
    with pytest.raises(scenarios.WrongResult, match="still there"):
        indexing.verify(own.db, "delete_user", None, ops[0], data)
    indexing.after(own.db, data, ops)


@pytest.fixture(scope="module")
def shared(database_url: str) -> Iterator[Runner]:
    """A runner on the test session's database, as `ormbench bench` has one on the run's."""
    with Runner(database_url, list(IMPLEMENTATIONS), "quick", timing=ONE_ROUND) as runner:
        yield runner


@pytest.fixture(scope="module")
def run(shared: Runner) -> list[dict[str, Any]]:
    return shared.run(["indexing"])


def test_the_run_has_a_row_per_query_set_and_implementation(run: list[dict]) -> None:
    sets = {p["index_set"] for p in indexing.PARAMS["quick"]}
    assert {r["params"]["index_set"] for r in run} == sets
    for name in sets:
        for variant in EXPLAINED:
            rows = [r for r in run if r["params"]["index_set"] == name and r["variant"] == variant]
            assert {r["implementation"] for r in rows} == set(IMPLEMENTATIONS), (name, variant)
            for row in rows:
                assert plan_of(row) is not None, (name, variant, row["implementation"])
                assert row["floor_ratio"] is not None


def test_the_write_cost_rows_exist(run: list[dict]) -> None:
    for params in indexing.PARAMS["quick"]:
        writes = [r for r in run if r["params"] == params and r["variant"] == "insert_copy"]
        assert {r["implementation"] for r in writes} == {"raw_psycopg2", "raw_asyncpg"}
        for row in writes:
            assert row["rows_per_op"] == params["insert_rows"]
            assert row["queries_per_op"] == 1  # one COPY
            setup = row["setup"]
            built = index_sets.SETS[params["index_set"]].indexes
            assert [i["name"] for i in setup["indexes"]] == [i.name for i in built]
            assert all(i["bytes"] > 0 for i in setup["indexes"])
            assert setup["tasks_bytes"] > 0
            assert setup["seed_s"] > 0


def test_the_regression_check_reruns_it_in_a_database_of_its_own(shared: Runner) -> None:
    params = indexing.PARAMS["quick"][0]
    rows = shared.rerun("indexing", params)
    assert {r["params"]["index_set"] for r in rows} == {params["index_set"]}
    assert all(r["floor_ratio"] is not None for r in rows)
    # The shared database kept the migrations' indexes all along.
    indexes = shared.db.value("SELECT count(*) FROM pg_indexes WHERE tablename = 'tasks'")
    assert indexes == 1 + len(index_sets.SETS["migrations"].indexes)
