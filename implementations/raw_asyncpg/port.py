"""What the benchmark scenarios drive: the async floor, every operation on one pooled
connection, as one request of the API would take it (database.py).

The same methods, in the same order, as raw_psycopg2/port.py, as coroutines: the runner
awaits them on its one event loop. ``HOW`` lists, per operation, the ways offered here,
naive first (the table in scenarios/port.py). ``api`` is crud.py, the API's own code; the
other ways are in variants.py.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from implementations.contract import schemas
from implementations.contract.ways import PortBase
from implementations.raw_asyncpg import crud, variants
from implementations.raw_asyncpg.database import Connection, Database, open_database

Row = Any  # an asyncpg Record (variants.py) or a dict (crud.py)


class Port(PortBase):
    name = "raw_asyncpg"
    mode = "async"
    driver = "asyncpg"
    HOW: ClassVar[dict[str, tuple[str, ...]]] = {
        "get_user": ("transaction", "sql", "no_reset"),
        "list_users": ("sql",),
        "create_user": ("api",),
        "update_user": ("api",),
        "delete_user": ("api",),
        "users_with_tasks": ("lazy", "join"),
        "bulk_insert_tasks": ("row_per_commit", "executemany", "copy"),
        "bulk_update_tasks": ("row_per_commit", "executemany", "unnest"),
        "list_tasks": ("api",),
        "tasks_page": ("offset", "keyset"),
        "user_stats": ("python", "sql"),
        "transfer_task": ("api",),
        "savepoint": ("api",),
    }

    # --- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        self._database = await open_database(self.settings)
        # For the ways that skip asyncpg's reset on release (no_reset, transaction), opened
        # on their first call: a port that never uses it holds no connection for it.
        self._unreset: Database | None = None

    async def close(self) -> None:
        if self._database is not None:
            await self._database.close()
            if self._unreset is not None:
                await self._unreset.close()
            self._database = self._unreset = None

    async def _unreset_database(self) -> Database:
        if self._unreset is None:
            self._unreset = await open_database(
                self.settings, reset=False, stats=self.database.pool_stats
            )
        return self._unreset

    @asynccontextmanager
    async def _connection(self, operation: str, how: str) -> AsyncIterator[Connection]:
        """A pooled connection, as the app's dependency gives one, for a way offered here."""
        if how not in self.HOW[operation]:
            offered = ", ".join(self.HOW[operation])
            raise ValueError(f"{self.name} has no {how!r} way to {operation} (only {offered})")
        async with self.database.connection() as connection:
            yield connection

    # --- users -----------------------------------------------------------------------------

    async def get_user(self, user_id: int, how: str) -> Row | None:
        if how == "sql":
            async with self._connection("get_user", how) as connection:
                return await variants.get_user_sql(connection, user_id)
        async with (await self._unreset_database()).connection() as connection:
            if how == "no_reset":
                return await variants.get_user_sql(connection, user_id)
            if how == "transaction":
                return await variants.get_user_in_transaction(connection, user_id)
        raise ValueError(f"{self.name} has no {how!r} way to get_user")

    async def list_users(self, skip: int, limit: int, how: str) -> list[Row]:
        async with self._connection("list_users", how) as connection:
            return await variants.list_users_sql(connection, skip, limit)

    async def create_user(self, data: schemas.UserCreate, how: str = "api") -> Row:
        async with self._connection("create_user", how) as connection:
            return await crud.create_user(connection, self.passwords, data)

    async def update_user(self, user_id: int, data: schemas.UserUpdate, how: str = "api") -> Row:
        async with self._connection("update_user", how) as connection:
            return await crud.update_user(connection, self.passwords, user_id, data)

    async def delete_user(self, user_id: int, how: str = "api") -> None:
        async with self._connection("delete_user", how) as connection:
            await crud.delete_user(connection, user_id)

    async def users_with_tasks(self, limit: int, how: str) -> list[Row]:
        async with self._connection("users_with_tasks", how) as connection:
            if how == "lazy":
                return await variants.users_with_tasks_lazy(connection, limit)
            return await variants.users_with_tasks_join(connection, limit)

    # --- tasks -----------------------------------------------------------------------------

    async def bulk_insert_tasks(self, user_id: int, rows: list[dict[str, Any]], how: str) -> int:
        async with self._connection("bulk_insert_tasks", how) as connection:
            if how == "row_per_commit":
                return await variants.insert_tasks_row_per_commit(connection, user_id, rows)
            if how == "executemany":
                return await variants.insert_tasks_executemany(connection, user_id, rows)
            return await variants.insert_tasks_copy(connection, user_id, rows)

    async def bulk_update_tasks(self, items: list[dict[str, Any]], how: str) -> int:
        async with self._connection("bulk_update_tasks", how) as connection:
            if how == "row_per_commit":
                return await variants.update_tasks_row_per_commit(connection, items)
            if how == "executemany":
                return await variants.update_tasks_executemany(connection, items)
            return await variants.update_tasks_unnest(connection, items)

    async def list_tasks(self, user_id: int, how: str = "api", **filters: Any) -> list[Row]:
        async with self._connection("list_tasks", how) as connection:
            return await crud.list_tasks(connection, user_id, **filters)

    async def tasks_page(
        self, limit: int, how: str, offset: int = 0, after_id: int | None = None
    ) -> list[Row]:
        async with self._connection("tasks_page", how) as connection:
            if how == "offset":
                return await variants.tasks_page_offset(connection, limit, offset)
            return await variants.tasks_page_keyset(connection, limit, after_id)

    async def user_stats(self, user_id: int, how: str) -> schemas.UserStats | dict[str, Any]:
        async with self._connection("user_stats", how) as connection:
            if how == "python":
                return await variants.user_stats_python(connection, user_id)
            return await crud.user_stats(connection, user_id)

    async def transfer_task(
        self, task_id: int, from_user_id: int, to_user_id: int, how: str = "api"
    ) -> Row:
        async with self._connection("transfer_task", how) as connection:
            return await crud.transfer_task(connection, task_id, from_user_id, to_user_id)

    async def savepoint(self, user_id: int, kept: str, dropped: str, how: str = "api") -> Row:
        async with self._connection("savepoint", how) as connection:
            return await variants.savepoint(connection, user_id, kept, dropped)
