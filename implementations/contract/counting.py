"""What "a statement" means in ormbench, and the counters that see them.

A counted statement is one SQL command that the implementation itself sent to PostgreSQL
and PostgreSQL executed: SELECT, INSERT, UPDATE, DELETE, COPY, WITH, VALUES, TABLE, MERGE,
and EXECUTE of a prepared statement (PREPARE itself is not counted: it runs nothing).
An ``executemany`` of N parameter sets counts N, because PostgreSQL executes it N times
(pg_stat_statements records N calls). Not counted: transaction control (BEGIN, COMMIT,
ROLLBACK, SAVEPOINT, RELEASE), session settings (SET, RESET), a pool's ping on checkout and
its reset on release, and a driver's own catalog introspection. Those cost time, and the
benchmarks show them, but they are not what the code under test asked for.

Every implementation feeds ``record()`` from its driver's lowest hook (SQLAlchemy's
``before_cursor_execute``; for asyncpg, its query logger), so the count means the same thing
everywhere. The active counter lives in a context variable: one per HTTP request (the
``X-Query-Count`` header) or per measured operation (the benchmarks). The same counter also
holds the request's round trips (``roundtrips.py``), which include what statements leave out.
"""

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

COUNTED_COMMANDS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "COPY", "WITH", "VALUES", "TABLE", "MERGE", "EXECUTE"}
)
# Leading whitespace, comments and opening parentheses before the first keyword.
_PREFIX = re.compile(r"(?:\s+|--[^\n]*\n|/\*.*?\*/|\()*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")


def command_of(sql: str) -> str:
    """The first keyword of a statement, upper-cased ('' if there is none)."""
    match = _WORD.match(sql, _PREFIX.match(sql).end())  # type: ignore[union-attr]
    return match.group(0).upper() if match else ""


def is_counted(sql: str) -> bool:
    return command_of(sql) in COUNTED_COMMANDS


@dataclass(frozen=True)
class Sent:
    """One counted statement as the driver hook saw it: its text and parameters in the
    driver's own style (psycopg2's ``%(name)s`` and a dict, asyncpg's ``$1`` and a tuple;
    for an ``executemany``, the list of parameter sets)."""

    sql: str
    params: Any
    executions: int


@dataclass
class StatementCounter:
    statements: int = 0
    # Every exchange with the server, transaction control, pings and pool resets included:
    # fed by the driver-level connection classes of ``roundtrips.py``.
    round_trips: int = 0
    # With ``counting(capture=True)``: every counted statement, in order (the indexing
    # scenario EXPLAINs exactly what an implementation sent). None, the default, keeps
    # nothing, so counting costs what it did.
    sent: list[Sent] | None = None
    # Seconds spent getting a connection: waiting for a free one, opening one, the pre-ping
    # (``acquiring()`` around each implementation's checkout).
    pool_wait_s: float = 0.0


_active: ContextVar[StatementCounter | None] = ContextVar("ormbench_statements", default=None)


def record(sql: str, executions: int = 1, params: Any = None) -> None:
    """Count ``sql`` (run ``executions`` times) against the active counter, if any, and keep
    it with its ``params`` when that counter captures."""
    counter = _active.get()
    if counter is not None and is_counted(sql):
        counter.statements += executions
        if counter.sent is not None:
            counter.sent.append(Sent(sql, params, executions))


def record_round_trips(exchanges: int = 1) -> None:
    """Count ``exchanges`` round trips against the active counter, if any."""
    counter = _active.get()
    if counter is not None:
        counter.round_trips += exchanges


def record_elsewhere(statements: int, round_trips: int) -> None:
    """Count what another process did on this call's behalf (the caching scenario's second
    worker), which no hook of this process saw."""
    counter = _active.get()
    if counter is not None:
        counter.statements += statements
        counter.round_trips += round_trips


@contextmanager
def acquiring() -> Iterator[None]:
    """Time the block, a pool checkout (or a connect, without a pool), into the active
    counter's ``pool_wait_s``. It times the block even when it raises (a pool timeout)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        counter = _active.get()
        if counter is not None:
            counter.pool_wait_s += time.perf_counter() - started


@contextmanager
def counting(*, capture: bool = False) -> Iterator[StatementCounter]:
    """Count the statements sent inside the block (threads started from it share the count
    when they copy the context, as Starlette's threadpool does for ``def`` endpoints); with
    ``capture``, keep each one's text and parameters in ``counter.sent`` too."""
    counter = StatementCounter(sent=[] if capture else None)
    token = _active.set(counter)
    try:
        yield counter
    finally:
        _active.reset(token)


@dataclass
class PoolStats:
    """Pool events seen since the pool was created: a metric, never printed."""

    connects: int = 0  # new physical connections (each costs ~5 ms here)
    checkouts: int = 0
    checkins: int = 0


def count_asyncpg(connection: Any) -> None:
    """Feed an asyncpg connection's statements to ``record``; call it from the pool's
    ``init=`` coroutine.

    asyncpg's query logger also sees the pool's reset on release and the driver's type
    introspection; both are left out (see the module docstring). ``executemany`` is logged
    once with the list of parameter sets, and counted once per set. Two things to know:
    ``copy_*`` methods bypass the logger (count them where they are called), and the logger
    runs one event-loop turn after the statement (``loop.call_soon``), so read a counter
    only after ``await settle()``.
    """
    from asyncpg import introspection  # only asyncpg implementations need it

    housekeeping = {
        connection.get_reset_query(),
        introspection.INTRO_LOOKUP_TYPES,
        getattr(introspection, "INTRO_LOOKUP_TYPES_13", None),
    }

    def logged(query: Any) -> None:
        # Around its introspection asyncpg also switches JIT off and back with set_config().
        if query.query not in housekeeping and "set_config('jit'" not in query.query:
            many = isinstance(query.args, list)  # executemany: a list of parameter sets
            record(query.query, len(query.args) if many else 1, query.args)

    connection.add_query_logger(logged)


async def settle() -> None:
    """Let asyncpg's query loggers, queued with ``call_soon`` as statements finish, run
    before a count is read: callbacks queued earlier run before this task resumes."""
    await asyncio.sleep(0)
