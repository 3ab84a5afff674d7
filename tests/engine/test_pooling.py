"""The pooling family's deterministic parts, on a real PostgreSQL.

Timings are never asserted. What is: with no pool every operation opens one connection, with
a warm pool none; an exhausted pool times operations out and the round still ends; each
configuration's pool ceiling is what the driver holds, and the server never sees more
backends than that; PgBouncer's rows run where a binary is found and say why not elsewhere.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from tortoise.transactions import in_transaction

import scenarios
from benchmarks import concurrency, pgbouncer, results
from benchmarks.cli.bench import document
from benchmarks.concurrency import BackendSampler, Round, run_async, run_sync
from benchmarks.concurrent_family import Family
from benchmarks.database import Server, fresh_database
from benchmarks.report import write_report
from benchmarks.report.formatting import significant
from benchmarks.runner import Runner, Timing, benchmark_settings
from implementations import IMPLEMENTATIONS, create_port
from scenarios import pooling, seed

ONE_ROUND = Timing(warmup_calls=1, min_rounds=1, max_rounds=1, round_seconds=0.0, pair_seconds=0.0)
USERS = 20


@pytest.fixture(scope="module")
def url(server: Server) -> Iterator[str]:
    """A database of this module's own: the backend counts below see no other test's
    connections (a contract test's app keeps its pool open on the session's database)."""
    with fresh_database(server) as own:
        db = seed.Database(own)
        try:
            seed.users_and_tasks(db, USERS, 3)
        finally:
            db.close()
        yield own


def settings_for(url: str, implementation: str, **overrides: Any) -> Any:
    return benchmark_settings(url).model_copy(
        update={"application_name": f"ormbench-test-{implementation}", **overrides}
    )


@contextmanager
def opened(url: str, implementation: str, **overrides: Any) -> Iterator[tuple[Any, asyncio.Runner]]:
    """A port of ``implementation`` with ``overrides``, and the loop its calls run on."""
    with asyncio.Runner() as loop:
        port = create_port(implementation, settings_for(url, implementation, **overrides))
        call = loop.run if port.mode == "async" else (lambda value: value)
        call(port.open())
        try:
            yield port, loop
        finally:
            call(port.close())


def drive(port: Any, loop: asyncio.Runner, workers: int, operations: int, **options: Any) -> Round:
    ops = [{"user_id": 1 + n % USERS, "limit": 5} for n in range(operations)]
    if port.mode == "async":
        return loop.run(run_async(port, pooling.get_by_id, ops, workers, **options))
    return run_sync(port, pooling.get_by_id, ops, workers, **options)


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_no_pool_opens_one_connection_per_operation(url: str, implementation: str) -> None:
    with opened(url, implementation, pooled=False, pool_size=8) as (port, loop):
        before = port.pool_stats.connects
        done = drive(port, loop, workers=8, operations=40)
        assert done.succeeded == 40, done.failures
        assert port.pool_stats.connects - before == 40
        assert set(done.statements) == {1}


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_a_warm_pool_opens_none(url: str, implementation: str) -> None:
    with opened(url, implementation, pool_size=2) as (port, loop):
        drive(port, loop, workers=8, operations=40)  # warm-up: the pool opens its two
        before = port.pool_stats.connects
        done = drive(port, loop, workers=8, operations=80)
        assert done.succeeded == 80, done.failures
        assert port.pool_stats.connects - before == 0
        assert set(done.statements) == {1}


# --- exhaustion: every connection held elsewhere ------------------------------------------


@contextmanager
def holding_sync(port: Any) -> Iterator[None]:
    if port.name == "raw_psycopg2":
        with port.database.connection():
            yield
        return
    connection = port.database.engine.pool.connect()  # sync_sqlalchemy's QueuePool
    try:
        yield
    finally:
        connection.close()


@asynccontextmanager
async def holding_async(port: Any) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if port.name == "raw_asyncpg":
            await stack.enter_async_context(port.database.connection())
        elif port.name == "async_sqlalchemy":
            await stack.enter_async_context(port.database.engine.connect())
        else:
            await stack.enter_async_context(tortoise_transaction(port))
        yield


@asynccontextmanager
async def tortoise_transaction(port: Any) -> AsyncIterator[None]:
    """A Tortoise transaction, holding its connection, in a task of its own (in this task it
    would become the connection every query of the workers, its children, uses)."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        with port._tortoise():
            async with in_transaction():
                held.set()
                await release.wait()

    task = asyncio.create_task(hold())
    await held.wait()
    try:
        yield
    finally:
        release.set()
        await task


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_an_exhausted_pool_times_out_and_the_round_ends(url: str, implementation: str) -> None:
    with opened(url, implementation, pool_size=1, pool_timeout=0.05) as (port, loop):
        if port.mode == "sync":
            with holding_sync(port):
                done = drive(port, loop, workers=4, operations=8, deadline_s=1.0)
        else:

            async def exhausted() -> Round:
                async with holding_async(port):
                    ops = [{"user_id": 1, "limit": 5}] * 8
                    return await run_async(port, pooling.get_by_id, ops, 4, deadline_s=1.0)

            done = loop.run(exhausted())
    assert done.succeeded == 0
    assert sum(done.failures.values()) == 8
    if implementation == "tortoise":
        # Tortoise passes no timeout to asyncpg's acquire: the round's deadline ends it.
        assert done.timeouts == 0
        assert set(done.failures) <= {concurrency.DEADLINE, concurrency.NOT_RUN}
    else:
        assert done.timeouts == 8, done.failures


def test_the_exhausted_configuration_counts_its_timeouts(url: str) -> None:
    """The benchmark's own undersized pool under a load it cannot serve in time."""
    config = pooling.CONFIGS["exhausted"]
    overrides = config.settings("sync_sqlalchemy", 16)
    with (
        opened(url, "sync_sqlalchemy", **overrides) as (port, _),
        holding_sync(port),
        holding_sync(port),  # both of its connections
    ):
        done = run_sync(port, pooling.users_with_tasks, [{"limit": 5}] * 32, 16)
    assert done.timeouts == 32


# --- ceilings -------------------------------------------------------------------------------


def expected_ceiling(config: str, implementation: str, workers: int) -> int | None:
    if config == "no_pool":
        return workers if implementation == "tortoise" else None  # NullPool has no ceiling
    if config == "sized":
        return workers
    if config == "exhausted":
        return pooling.EXHAUSTED_POOL
    if config == "default":
        return {"sync_sqlalchemy": 15, "async_sqlalchemy": 15, "tortoise": 5, "raw_asyncpg": 10}[
            implementation
        ]
    return 10


CEILING_CASES = [
    (config.name, implementation)
    for config in pooling.CONFIGS.values()
    if not config.pgbouncer and config.event_loop == "asyncio"
    for implementation in IMPLEMENTATIONS
    if implementation not in config.why_not
]


@pytest.mark.parametrize(("config", "implementation"), CEILING_CASES)
def test_each_configuration_has_the_ceiling_it_declares(
    url: str, config: str, implementation: str
) -> None:
    overrides = pooling.CONFIGS[config].settings(implementation, 6)
    with opened(url, implementation, **overrides) as (port, _):
        assert port.max_connections == expected_ceiling(config, implementation, 6)


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_the_server_sees_no_more_backends_than_the_ceiling(url: str, implementation: str) -> None:
    overrides = pooling.CONFIGS["exhausted"].settings(implementation, 12)
    name = f"ormbench-test-{implementation}"
    with (
        BackendSampler(url) as sampler,
        opened(url, implementation, **overrides) as (port, loop),
    ):
        with sampler.measuring() as peaks:
            done = drive(port, loop, workers=12, operations=60)
        assert done.succeeded + done.timeouts == 60
        # A fixed pool of 2: the server saw exactly its two connections, never a third.
        assert peaks[name] == port.max_connections == 2


# --- PgBouncer --------------------------------------------------------------------------------

needs_pgbouncer = pytest.mark.skipif(
    pgbouncer.find_binary() is None, reason=f"PgBouncer rows are skipped: {pgbouncer.MISSING}"
)


@needs_pgbouncer
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_through_pgbouncer_in_transaction_mode(url: str, implementation: str) -> None:
    overrides = pooling.CONFIGS["pgbouncer_no_pool"].settings(implementation, 8)
    with (
        pgbouncer.PgBouncer(url, pool_size=3) as bouncer,
        BackendSampler(url) as sampler,
        opened(bouncer.url, implementation, **overrides) as (port, loop),
    ):
        with sampler.measuring() as peaks:
            done = drive(port, loop, workers=8, operations=40)
        assert done.succeeded == 40, done.failures
        assert port.pool_stats.connects == 40  # to PgBouncer, one per operation
        assert 1 <= peaks[concurrency.ALL_BACKENDS] <= 3  # PgBouncer's own, at most its pool


def test_without_pgbouncer_its_rows_say_why(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pgbouncer.ENVIRONMENT_VARIABLE, "/nonexistent/pgbouncer")
    assert pgbouncer.find_binary() is None
    with pytest.raises(pgbouncer.PgBouncerError, match="apt-get install pgbouncer"):
        pgbouncer.PgBouncer(database_url, pool_size=2)
    runner = Runner(database_url, list(IMPLEMENTATIONS), "quick", timing=ONE_ROUND)
    family = Family(runner, "pooling", pooling)
    family._record_not_applicable()
    runner.db.close()
    skipped = {
        (entry["variant"], entry["implementation"]): entry["reason"]
        for entry in runner.not_applicable
        if entry["variant"].endswith(("pgbouncer", "pgbouncer_no_pool"))
    }
    assert set(skipped) == {
        (variant, implementation)
        for variant in ("get_pgbouncer", "get_pgbouncer_no_pool")
        for implementation in IMPLEMENTATIONS
    }
    assert all("apt-get install pgbouncer" in reason for reason in skipped.values())


# --- the family through the runner -----------------------------------------------------------


def test_the_family_runs_through_the_runner(database_url: str, tmp_path: Path) -> None:
    """Every planned variant of the quick profile on its implementations, one round each:
    rows in the results' shape, statements exact, the floor's ratio 1, and a report whose
    sync-vs-async finding is computed from them."""
    with Runner(database_url, list(IMPLEMENTATIONS), "quick", timing=ONE_ROUND) as runner:
        rows = runner.run(["pooling"])
        ports_back = set(runner.ports) == set(IMPLEMENTATIONS)
        results.write(
            document(runner, rows, "2026-12-01T00:00:00Z", "quick", "external"),
            tmp_path / "results.json",
        )
    assert ports_back  # the runner's own ports are open again afterwards
    ran = {(r["variant"], r["implementation"], r["params"]["workers"]) for r in rows}
    for workers, names in pooling.PLAN["quick"].items():
        for name in names:
            config = pooling.VARIANTS[name].config
            if config.pgbouncer and pgbouncer.find_binary() is None:
                continue
            for implementation in IMPLEMENTATIONS:
                if implementation not in config.why_not:
                    assert (name, implementation, workers) in ran
    expected = {"get_user": 1, "users_with_tasks": None}
    for row in rows:
        own = row["concurrency"]
        assert own["operations"] == own["succeeded"] + own["timeouts"] + sum(own["errors"].values())
        if expected[row["operation"]] is not None and own["succeeded"]:
            assert row["queries_per_op"] == 1
        if own["config"] == "no_pool":
            # One connection per operation; Tortoise's is per query (a page: two).
            per_query = row["implementation"] == "tortoise" and row["variant"].startswith("page")
            assert own["connections_per_1000_ops"] == (2000 if per_query else 1000)
        floor = row.get("floor")
        if floor and (row["variant"], row["implementation"]) == (
            floor["variant"],
            floor["implementation"],
        ):
            assert row["floor_ratio"] == 1.0
    write_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    finding = report.split("5. Sync vs async under concurrency")[1]
    by_key = {(r["variant"], r["implementation"], r["params"]["workers"]): r for r in rows}
    sync, other = (
        by_key["get_parity", "sync_sqlalchemy", 16],
        by_key["get_parity", "async_sqlalchemy", 16],
    )
    expected = f"{significant(other['ops_per_s'] / sync['ops_per_s'])}\u00d7"
    assert expected in finding.split("Page of 10 users")[0]
    assert "Cannot be computed" not in finding
    assert "### Across worker counts" in report
    assert "**No pool, 16 workers**" in report


def test_every_variant_applies_somewhere_and_names_its_label() -> None:
    for variant in pooling.VARIANTS:
        assert any(name not in variant.config.why_not for name in IMPLEMENTATIONS)
        assert variant.label.startswith(("get by id", "page of 10 users"))
    assert scenarios.load("pooling") is pooling
    # The library defaults are read from the libraries, not copied.
    assert pooling.CONFIGS["default"].settings("sync_sqlalchemy", 4)["max_overflow"] == 10


def test_sampler_counts_backends_by_name(url: str) -> None:
    extra = psycopg2.connect(url, application_name="ormbench-test-sampled")
    try:
        with BackendSampler(url) as sampler, sampler.measuring() as peaks:
            pass
        assert peaks["ormbench-test-sampled"] == 1
        assert peaks[concurrency.ALL_BACKENDS] >= 1
    finally:
        extra.close()
