"""Round trips per get by id, pinned per implementation and way, and checked against what
PostgreSQL itself executed.

The counts come from the driver-level connection classes (implementations/contract/
roundtrips.py). PostgreSQL's own record is pg_stat_statements with utility statements tracked
(BEGIN, ROLLBACK and asyncpg's reset query are utility statements): every call it records is
one exchange, except asyncpg's reset query, one simple query that it records as its four
statements. A prepare is an exchange it does not record at all, so the calls compared here
run on a pool of one connection that has already prepared what they send.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from benchmarks.runner import benchmark_settings
from implementations import IMPLEMENTATIONS, create_port
from implementations.contract.counting import counting, settle
from scenarios import seed

# (implementation, way) -> round trips per get by id, and why.
PINNED = {
    ("sync_sqlalchemy", "legacy_query"): 3,  # BEGIN, SELECT, ROLLBACK (the pool's reset)
    ("sync_sqlalchemy", "entity"): 3,
    ("sync_sqlalchemy", "lambda"): 3,
    ("sync_sqlalchemy", "deferred"): 3,
    ("sync_sqlalchemy", "columns"): 3,
    ("sync_sqlalchemy", "autocommit"): 1,  # the SELECT alone, on an autocommit engine
    ("async_sqlalchemy", "entity"): 3,  # BEGIN, SELECT (a prepared statement), ROLLBACK
    ("async_sqlalchemy", "lambda"): 3,
    ("async_sqlalchemy", "deferred"): 3,
    ("async_sqlalchemy", "columns"): 3,
    ("async_sqlalchemy", "autocommit"): 1,
    ("tortoise", "entity"): 2,  # the SELECT, asyncpg's reset query on release
    ("tortoise", "deferred"): 2,
    ("tortoise", "columns"): 2,
    ("tortoise", "no_reset"): 1,
    ("raw_psycopg2", "sql"): 1,  # autocommit: the SELECT alone
    ("raw_psycopg2", "prepared"): 1,  # EXECUTE
    ("raw_psycopg2", "transaction"): 3,  # BEGIN, SELECT, ROLLBACK
    ("raw_asyncpg", "sql"): 2,  # the SELECT, the reset query
    ("raw_asyncpg", "no_reset"): 1,
    ("raw_asyncpg", "transaction"): 3,  # BEGIN, SELECT, ROLLBACK, no reset
}
CALLS = 5
RESET_FIRST = "SELECT pg_advisory_unlock_all()"  # asyncpg's reset query, as recorded
RESET_REST = ("CLOSE ALL", "UNLISTEN *", "RESET ALL")
MONITORING = ("pg_stat_statements", "pg_stat_activity", "pg_backend_pid")


def test_every_get_way_is_pinned() -> None:
    offered = {
        (name, how)
        for name in IMPLEMENTATIONS
        for how in create_port(name, benchmark_settings("postgresql://x/y")).HOW["get_user"]
    }
    assert offered == set(PINNED)


@pytest.fixture(scope="module")
def seeded(database_url: str) -> Iterator[None]:
    db = seed.Database(database_url)
    try:
        db.reset()
        seed.users_and_tasks(db, 5, 2)
        yield
    finally:
        db.reset()
        db.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


class Gets:
    """``CALLS`` gets by id through one port with a pool of one connection, each counted."""

    def __init__(self, database_url: str, name: str, loop: asyncio.Runner) -> None:
        settings = benchmark_settings(database_url).model_copy(update={"pool_size": 1})
        self.port = create_port(name, settings)
        self.loop = loop

    def run(self, value: Any) -> Any:
        return self.loop.run(value) if self.port.mode == "async" else value

    def __enter__(self) -> "Gets":
        self.run(self.port.open())
        return self

    def __exit__(self, *_: object) -> None:
        self.run(self.port.close())

    def round_trips(self, how: str) -> list[int]:
        if self.port.mode == "sync":
            return [self._sync_get(how) for _ in range(CALLS)]
        # Counted inside the loop: asyncio.Runner runs a coroutine in its own context.
        return [self.loop.run(self._async_get(how)) for _ in range(CALLS)]

    def _sync_get(self, how: str) -> int:
        with counting() as counter:
            self.port.get_user(1, how=how)
        return counter.round_trips

    async def _async_get(self, how: str) -> int:
        with counting() as counter:
            await self.port.get_user(1, how=how)
            await settle()
        return counter.round_trips


def _recorded(cursor: Any) -> int:
    """Exchanges of this database's statements since the last reset, as PostgreSQL saw them."""
    cursor.execute(
        "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        " WHERE d.datname = current_database() AND s.toplevel"
    )
    total = 0
    for query, calls in cursor.fetchall():
        text = query.strip()
        if any(name in text for name in MONITORING) or text.startswith(RESET_REST):
            continue  # ours, or the rest of asyncpg's one reset exchange
        total += calls
    return total


def _statements_tracked(cursor: Any) -> str | None:
    cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if cursor.fetchone()[0] == 0:
        return "pg_stat_statements is not installed in the test database (not preloaded)"
    for setting, wanted in (("track", ("top", "all")), ("track_utility", ("on",))):
        cursor.execute(f"SHOW pg_stat_statements.{setting}")
        if (value := cursor.fetchone()[0]) not in wanted:
            return f"pg_stat_statements.{setting} = {value}: utility statements not recorded"
    return None


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_get_round_trips_are_pinned_and_match_postgres(
    name: str, database_url: str, seeded: None, loop: asyncio.Runner
) -> None:
    monitor = psycopg2.connect(database_url)
    monitor.autocommit = True
    cursor = monitor.cursor()
    why_not = _statements_tracked(cursor)
    ways = [how for (implementation, how) in PINNED if implementation == name]
    try:
        with Gets(database_url, name, loop) as gets:
            for how in ways:
                gets.round_trips(how)  # warm: connected, statements prepared and cached
                if why_not is None:
                    cursor.execute(
                        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
                        " WHERE datname = current_database()), 0)"
                    )
                counted = gets.round_trips(how)
                assert counted == [PINNED[name, how]] * CALLS, (name, how, counted)
                if why_not is None:
                    assert _recorded(cursor) == sum(counted), (name, how)
    finally:
        monitor.close()
    if why_not is not None:
        pytest.skip(f"counts pinned; not compared with PostgreSQL: {why_not}")
