"""The psycopg2 connection pool, the statement-counting cursor, and the request dependency.

Connections run in autocommit mode: a single statement is its own transaction, with no
BEGIN and COMMIT round trips around it, so a read is one round trip. (The asyncpg floor's
read is two: asyncpg's pool sends its reset query when the connection goes back; and a
SQLAlchemy Session pays three, BEGIN, the statement and the ROLLBACK of the pool's reset.
The benchmarks measure those choices as variants.) Work of several statements that must be
atomic opens a transaction explicitly (``transaction()`` below).
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

import psycopg2.extensions
import psycopg2.extras
import psycopg2.sql
from fastapi import Depends, Request
from psycopg2.pool import ThreadedConnectionPool

from implementations.contract.counting import PoolStats, acquiring, record
from implementations.contract.roundtrips import (
    Psycopg2RoundTripConnection,
    Psycopg2RoundTripCursor,
)
from implementations.contract.settings import Settings

Connection = Psycopg2RoundTripConnection


class PoolTimeout(RuntimeError):
    """No connection came free within ``Settings.pool_timeout``."""


class _Counting(Psycopg2RoundTripCursor):
    """Counts the statements a cursor sends (contract/counting.py), whatever rows it builds;
    its base class counts the round trips.

    psycopg2 has no event hooks, so the cursor is the lowest place every statement passes.
    """

    def execute(self, query: Any, vars: Any = None) -> None:
        record(self._text(query), params=vars)
        super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> None:
        vars_list = list(vars_list)  # may be a generator; PostgreSQL runs it once per item
        record(self._text(query), len(vars_list), vars_list)
        super().executemany(query, vars_list)

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
        record(self._text(sql))
        super().copy_expert(sql, file, size)

    def copy_from(self, file: Any, table: str, *args: Any, **kwargs: Any) -> None:
        record(f"COPY {table} FROM STDIN")
        super().copy_from(file, table, *args, **kwargs)

    def _text(self, query: Any) -> str:
        if isinstance(query, bytes):
            return query.decode()
        if isinstance(query, psycopg2.sql.Composable):
            return query.as_string(self)
        return query


class CountingCursor(_Counting, psycopg2.extras.RealDictCursor):
    """The pool's cursor: rows come back as dicts, what crud hands to the schemas."""


# RealDictCursor builds each row in Python, a call per column: three times the cost of the
# fetch itself on a hundred rows. The benchmarks' floors (variants.py) read with these.
class CountingNamedTupleCursor(_Counting, psycopg2.extras.NamedTupleCursor):
    """Rows as named tuples: attribute access, and no Python call per column."""


class CountingTupleCursor(_Counting):
    """Rows as plain tuples, for code that reads columns by position."""


@dataclass
class Database:
    """What the app holds for its lifetime: the pool and its event counts.

    psycopg2's pool raises at once when every connection is taken; a semaphore makes a
    request wait up to ``timeout`` instead, as SQLAlchemy's QueuePool does. Without a pool
    (``pool`` None, ``Settings.pooled`` off), every block opens its own connection with
    ``connect`` and closes it afterwards.
    """

    pool: ThreadedConnectionPool | None
    timeout: float
    pool_stats: PoolStats
    connect: Callable[[], Connection] | None = None
    _free: threading.BoundedSemaphore | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.pool is not None:
            self._free = threading.BoundedSemaphore(self.pool.maxconn)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection for the block, put back (or discarded if broken) afterwards."""
        if self.pool is None or self._free is None:
            with self._unpooled() as connection:
                yield connection
            return
        with acquiring():  # the operation's pool wait (contract/counting.py)
            if not self._free.acquire(timeout=self.timeout):
                raise PoolTimeout(f"no connection free after {self.timeout} s")
            try:
                connection = self.pool.getconn()
            except BaseException:
                self._free.release()
                raise
        self.pool_stats.checkouts += 1
        try:
            yield connection
        finally:
            self._put_back(connection)
            self._free.release()

    @contextmanager
    def _unpooled(self) -> Iterator[Connection]:
        assert self.connect is not None
        with acquiring():
            connection = self.connect()
        self.pool_stats.checkouts += 1
        try:
            yield connection
        finally:
            connection.close()  # also rolls back whatever was left uncommitted
            self.pool_stats.checkins += 1

    def _put_back(self, connection: Connection) -> None:
        # transaction() ends its own work, so a connection comes back idle and in autocommit
        # unless it broke on the way. A broken one is closed, which also rolls back whatever
        # it left uncommitted, and the pool opens a fresh one when it needs to.
        assert self.pool is not None
        broken = (
            bool(connection.closed)
            or not connection.autocommit
            or connection.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE
        )
        self.pool.putconn(connection, close=broken)
        self.pool_stats.checkins += 1

    @property
    def max_connections(self) -> int | None:
        """The pool's ceiling, read from the pool itself (None without a pool)."""
        return None if self.pool is None else self.pool.maxconn

    def close(self) -> None:
        if self.pool is not None:
            self.pool.closeall()


def open_database(settings: Settings) -> Database:
    stats = PoolStats()

    class PooledConnection(Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.autocommit = True
            stats.connects += 1

    options: dict[str, Any] = {
        "connection_factory": PooledConnection,
        "cursor_factory": CountingCursor,
    }
    if settings.application_name:
        options["application_name"] = settings.application_name
    if not settings.pooled:
        connect = partial(psycopg2.connect, settings.url_for("libpq"), **options)
        return Database(None, settings.pool_timeout, stats, connect)
    # minconn = pool_size: psycopg2 keeps at most minconn idle connections and closes the
    # rest as they come back, so pool_size stay open and overflow ones (up to pool_max) are
    # closed after use, as in SQLAlchemy's QueuePool. The first pool_size open right here.
    pool = ThreadedConnectionPool(
        settings.pool_size, settings.pool_max, settings.url_for("libpq"), **options
    )
    return Database(pool, settings.pool_timeout, stats)


@contextmanager
def transaction(connection: Connection) -> Iterator[CountingCursor]:
    """A cursor inside one transaction: committed if the block succeeds, else rolled back."""
    connection.autocommit = False  # psycopg2 sends BEGIN before the first statement
    try:
        with connection, connection.cursor() as cursor:
            yield cursor
    finally:
        if not connection.closed:
            connection.autocommit = True


def get_connection(request: Request) -> Iterator[Connection]:
    with request.app.state.database.connection() as connection:
        yield connection


# scope="function": the connection goes back to the pool when the endpoint returns, before
# the response is sent, so the pool slot is not held while the client reads, and
# X-Round-Trips can count what the release costs.
ConnectionDep = Annotated[Connection, Depends(get_connection, scope="function")]
