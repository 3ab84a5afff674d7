"""The asyncpg connection pool, its statement counting, and the request dependency.

asyncpg runs each statement outside a transaction unless one is opened, so a single
statement costs one round trip, with no BEGIN or COMMIT; work of several statements that
must be atomic opens one explicitly (``connection.transaction()``).
"""

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from implementations.contract.counting import PoolStats, count_asyncpg, record
from implementations.contract.settings import Settings


class Connection(asyncpg.Connection):
    """An asyncpg connection whose COPY is counted too.

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
    """What the app holds for its lifetime: the pool and its event counts."""

    pool: asyncpg.Pool
    timeout: float
    pool_stats: PoolStats

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection for the block. On release asyncpg rolls back a transaction
        left open and resets the session (its reset query, not counted as a statement)."""
        async with self.pool.acquire(timeout=self.timeout) as connection:
            self.pool_stats.checkouts += 1
            try:
                yield connection
            finally:
                self.pool_stats.checkins += 1

    @property
    def max_connections(self) -> int:
        """The pool's ceiling, read from the pool itself."""
        return self.pool.get_max_size()

    async def close(self) -> None:
        await self.pool.close()


async def open_database(settings: Settings) -> Database:
    stats = PoolStats()

    async def init(connection: Connection) -> None:
        stats.connects += 1
        count_asyncpg(connection)

    # min_size = pool_size: that many connections open now and stay open; up to pool_max in
    # all, any beyond pool_size closed once idle (asyncpg has no overflow, only a maximum).
    pool = await asyncpg.create_pool(
        settings.url_for("libpq"),
        min_size=settings.pool_size,
        max_size=settings.pool_max,
        init=init,
        connection_class=Connection,
    )
    return Database(pool, settings.pool_timeout, stats)


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    async with request.app.state.database.connection() as connection:
        yield connection


ConnectionDep = Annotated[Connection, Depends(get_connection)]
