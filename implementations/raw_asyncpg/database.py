"""The asyncpg connection pool, its statement counting, and the request dependency.

asyncpg runs each statement outside a transaction unless one is opened, so a single
statement costs one round trip, with no BEGIN or COMMIT; work of several statements that
must be atomic opens one explicitly (``connection.transaction()``).
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from implementations.contract.counting import PoolStats, acquiring, count_asyncpg, record
from implementations.contract.roundtrips import AsyncpgRoundTripConnection
from implementations.contract.settings import Settings


class Connection(AsyncpgRoundTripConnection):
    """An asyncpg connection whose round trips are counted (its base class), and whose COPY
    is counted as a statement too.

    The query logger (``count_asyncpg``) sees every statement sent through ``execute`` and
    ``fetch*``, but ``copy_records_to_table`` talks to the protocol directly and is never
    logged, so it is counted here, once, as the single COPY statement it sends.
    """

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Iterable[Sequence[Any]],
        columns: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> str:
        record(f"COPY {table_name} FROM STDIN")
        return await super().copy_records_to_table(
            table_name, records=records, columns=columns, **kwargs
        )


@dataclass
class Database:
    """What the app holds for its lifetime: the pool and its event counts. Without a pool
    (``pool`` None, ``Settings.pooled`` off), every block opens its own connection with
    ``connect`` and closes it afterwards."""

    pool: asyncpg.Pool | None
    timeout: float
    pool_stats: PoolStats
    connect: Callable[[], Awaitable[Connection]] | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection for the block. On release asyncpg rolls back a transaction
        left open and resets the session (its reset query, not counted as a statement)."""
        if self.pool is None:
            async with self._unpooled() as connection:
                yield connection
            return
        with acquiring():  # the operation's pool wait (contract/counting.py)
            connection = await self.pool.acquire(timeout=self.timeout)
        self.pool_stats.checkouts += 1
        try:
            yield connection
        finally:
            self.pool_stats.checkins += 1
            await self.pool.release(connection)

    @asynccontextmanager
    async def _unpooled(self) -> AsyncIterator[Connection]:
        assert self.connect is not None
        with acquiring():
            connection = await self.connect()
        self.pool_stats.checkouts += 1
        try:
            yield connection
        finally:
            await connection.close()
            self.pool_stats.checkins += 1

    @property
    def max_connections(self) -> int | None:
        """The pool's ceiling, read from the pool itself (None without a pool)."""
        return None if self.pool is None else self.pool.get_max_size()

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


async def _no_reset(_connection: Connection) -> None:
    """A pool ``reset=`` that sends nothing (asyncpg still rolls back an open transaction)."""


async def open_database(
    settings: Settings, *, reset: bool | None = None, stats: PoolStats | None = None
) -> Database:
    """The app's pool. ``reset=False`` (default: ``Settings.pool_reset_on_release``) builds a
    pool without asyncpg's reset query on release (one round trip less per checkout),
    opened one connection at a time. The risk it takes: whatever a request left on its
    session (SET, LISTEN, advisory locks, open cursors, temporary prepared statements) is
    met by the next one."""
    stats = stats or PoolStats()
    reset = settings.pool_reset_on_release if reset is None else reset

    async def init(connection: Connection) -> None:
        stats.connects += 1
        count_asyncpg(connection)

    options: dict[str, Any] = {"connection_class": Connection}
    if settings.application_name:
        options["server_settings"] = {"application_name": settings.application_name}
    if not settings.statement_cache:
        options["statement_cache_size"] = 0  # unnamed statements, as PgBouncer needs
    if not settings.pooled:
        url = settings.url_for("libpq")

        async def connect() -> Connection:
            connection = await asyncpg.connect(url, **options)
            await init(connection)
            return connection

        return Database(None, settings.pool_timeout, stats, connect)
    # min_size = pool_size: that many connections open now and stay open; up to pool_max in
    # all, any beyond pool_size closed once idle (asyncpg has no overflow, only a maximum).
    pool = await asyncpg.create_pool(
        settings.url_for("libpq"),
        min_size=settings.pool_size if reset else 1,
        max_size=settings.pool_max,
        init=init,
        **options,
        **({} if reset else {"reset": _no_reset}),
    )
    return Database(pool, settings.pool_timeout, stats)


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    async with request.app.state.database.connection() as connection:
        yield connection


# scope="function": the connection goes back to the pool when the endpoint returns, before
# the response is sent, so the pool slot is not held while the client reads, and
# X-Round-Trips can count what the release costs.
ConnectionDep = Annotated[Connection, Depends(get_connection, scope="function")]
