"""The benchmark engine, run for real on the quick data with one round per pair.

Timings are never asserted: only what is deterministic — statement counts per call, rows,
which pairs ran, the results file's shape — and that every variant's check rejects a wrong
answer.
"""

import math
from collections.abc import Iterator
from typing import Any

import pytest

import scenarios
from benchmarks import results
from benchmarks.redis_server import RedisServer
from benchmarks.runner import FLOORS, Runner, Timing
from implementations import IMPLEMENTATIONS

ONE_ROUND = Timing(warmup_calls=1, min_rounds=1, max_rounds=1, round_seconds=0.0, pair_seconds=0.0)


# A cache's statements vary by design (a hit sends none): its counts are pinned in
# test_caching.py, call by call.
VARYING = ("caching",)


@pytest.fixture(scope="module")
def run(
    database_url: str, redis_server: RedisServer
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    with Runner(
        database_url,
        list(IMPLEMENTATIONS),
        "quick",
        timing=ONE_ROUND,
        redis_url=redis_server.url,
    ) as runner:
        rows = runner.run(scenarios.SCENARIOS)
        yield rows, runner.not_applicable


def expected_statements(row: dict[str, Any]) -> int | None:
    """What scenarios/port.py promises per call, where the promise is exact."""
    params, variant = row["params"], row["variant"]
    if row["scenario"] == "eager_loading":
        n = params["n"]
        return {
            "lazy": n + 1,
            "joined": 1,
            "selectin": 1 + math.ceil(n / 500),
            "prefetch": 2,
            "join": 1,
        }[variant]
    if row["scenario"] == "crud":
        return 1 if variant.startswith(("get", "list", "create", "delete")) else None
    if row["scenario"] == "bulk_insert":
        rows = params["rows"]
        return {
            "row_per_commit": rows,
            "insert_dicts": math.ceil(rows / 1000),
            "bulk_create": rows,
            "executemany": rows,
            "copy": 1,
        }.get(variant)
    if row["scenario"] == "bulk_update":
        rows = params["rows"]
        return {
            "row_per_commit": rows,
            "bulk_update_mappings": rows,
            "executemany": rows,
        }.get(variant)
    if row["scenario"] == "filter_sort":
        return 1 if variant in ("offset", "keyset") else None
    if row["scenario"] == "aggregation":
        return 1 if variant == "in_sql" else None
    if row["scenario"] == "indexing":  # an ORM's listing checks the user first
        listing = row["operation"] == "list_tasks"
        return 2 if listing and not row["implementation"].startswith("raw_") else 1
    return None


def test_results_document_is_valid(run: tuple[list[dict], list[dict]]) -> None:
    rows, not_applicable = run
    document = {
        "meta": {
            "started_at": "2026-11-25T00:00:00Z",
            "git_commit": "test",
            "python": "3.11",
            "postgres": "PostgreSQL 18",
            "packages": {},
            "machine": {},
            "profile": "quick",
            "database": "embedded",
        },
        "results": rows,
        "not_applicable": not_applicable,
    }
    results.validate(document)


def test_every_variant_runs_or_says_why_not(run: tuple[list[dict], list[dict]]) -> None:
    rows, not_applicable = run
    ran = {(r["scenario"], r["variant"], r["implementation"]) for r in rows}
    excused = {(n["scenario"], n["variant"], n["implementation"]) for n in not_applicable}
    for name in scenarios.SCENARIOS:
        for variant in scenarios.load(name).VARIANTS:
            for impl in IMPLEMENTATIONS:
                key = (name, variant.name, impl)
                assert (key in ran) != (key in excused), f"{key}: ran={key in ran}"
    assert all(n["reason"] for n in not_applicable)


def test_every_scenario_has_rows_for_all_five(run: tuple[list[dict], list[dict]]) -> None:
    rows, _ = run
    for name in scenarios.SCENARIOS:
        assert {r["implementation"] for r in rows if r["scenario"] == name} == set(
            IMPLEMENTATIONS
        ), name


def test_statement_counts_are_exact(run: tuple[list[dict], list[dict]]) -> None:
    rows, _ = run
    checked = 0
    for row in rows:
        if row["scenario"] in VARYING:
            continue
        assert not row["queries_vary"], f"{row['scenario']}/{row['variant']}: counts vary"
        expected = expected_statements(row)
        if expected is not None:
            assert row["queries_per_op"] == expected, (
                f"{row['scenario']} {row['params']} {row['variant']} on "
                f"{row['implementation']}: {row['queries_per_op']} statements, not {expected}"
            )
            checked += 1
    assert checked > 50


def test_every_row_has_a_floor_ratio_and_the_floor_is_one(
    run: tuple[list[dict], list[dict]],
) -> None:
    rows, _ = run
    for row in rows:
        assert row["floor_ratio"] is not None, row
        floor = row["floor"]
        if (row["variant"], row["implementation"]) == (floor["variant"], floor["implementation"]):
            assert row["floor_ratio"] == 1.0
        assert row["floor"]["implementation"] == FLOORS[row["mode"]]


READS = ("get_user", "list_users", "users_with_tasks", "tasks_page", "user_stats")


def test_rows_carry_round_trips_and_cpu_time(run: tuple[list[dict], list[dict]]) -> None:
    rows, _ = run
    for row in rows:
        if row["scenario"] not in VARYING:
            assert row["round_trips_per_op"] >= 1, row  # every call talks to the server
        assert row["cpu_median_s"] > 0, row
        assert len(row["cpu_round_medians_s"]) == len(row["round_medians_s"])


def test_every_way_of_a_read_returns_the_same_columns(run: tuple[list[dict], list[dict]]) -> None:
    """Equal work: the ways of one read return rows of the same width (an ORM entity, a row,
    a dict), unless the variant says what it does differently, which the report prints."""
    rows, _ = run
    widths: dict[tuple[str, str, str], set[tuple[int, ...]]] = {}
    differing = 0
    for row in rows:
        if row["operation"] not in READS:
            continue
        if row.get("differs"):
            differing += 1
            continue
        key = (row["scenario"], row["operation"], repr(row["params"]))
        widths.setdefault(key, set()).add(tuple(row["columns_per_row"]))
    assert widths
    for key, found in widths.items():
        assert len(found) == 1, f"{key}: the ways read {sorted(found)} columns"
    assert differing > 0  # the deferred password hash says so


def test_caching_rows_count_their_answers(run: tuple[list[dict], list[dict]]) -> None:
    rows, _ = run
    caching = [row for row in rows if row["scenario"] == "caching"]
    assert {row["implementation"] for row in caching} == set(IMPLEMENTATIONS)
    for row in caching:
        assert row["reads"] >= 1, row
        assert 0 <= row["hits"] <= row["reads"]
        assert row["hit_ratio"] == row["hits"] / row["reads"]
        if row["variant"] not in ("seed_decorator", "ttl_only", "two_workers_in_process"):
            assert (row["stale_reads"], row["wrong_answers"]) == (0, 0), row
    assert all(row["hits"] == 0 for row in caching if row["variant"] == "no_cache")
