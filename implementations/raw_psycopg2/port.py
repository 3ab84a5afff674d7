"""What the benchmark scenarios drive: the sync floor, every operation on one pooled
connection, as one request of the API would take it (database.py).

``HOW`` lists, per operation, the ways offered here, naive first (the table in
scenarios/port.py). ``api`` is crud.py, the API's own code; the other ways are in
variants.py. Results are psycopg2's rows, or a count for the bulk writes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from implementations.contract import schemas
from implementations.contract.ways import PortBase
from implementations.raw_psycopg2 import crud, variants
from implementations.raw_psycopg2.database import Connection, open_database

Row = Any  # a psycopg2 row: a named tuple (variants.py) or a dict (crud.py)


class Port(PortBase):
    name = "raw_psycopg2"
    mode = "sync"
    driver = "psycopg2"
    HOW: ClassVar[dict[str, tuple[str, ...]]] = {
        "get_user": ("transaction", "sql", "prepared"),
        "list_users": ("sql",),
        "create_user": ("api",),
        "update_user": ("api",),
        "delete_user": ("api",),
        "users_with_tasks": ("lazy", "join"),
        "bulk_insert_tasks": ("row_per_commit", "executemany", "execute_values", "copy"),
        "bulk_update_tasks": ("row_per_commit", "executemany", "unnest"),
        "list_tasks": ("api",),
        "tasks_page": ("offset", "keyset"),
        "user_stats": ("python", "sql"),
        "transfer_task": ("api",),
        "savepoint": ("api",),
    }

    # --- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        self._database = open_database(self.settings)

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    @contextmanager
    def _connection(self, operation: str, how: str) -> Iterator[Connection]:
        """A pooled connection, as the app's dependency gives one, for a way offered here."""
        if how not in self.HOW[operation]:
            offered = ", ".join(self.HOW[operation])
            raise ValueError(f"{self.name} has no {how!r} way to {operation} (only {offered})")
        with self.database.connection() as connection:
            yield connection

    # --- users -----------------------------------------------------------------------------

    def get_user(self, user_id: int, how: str) -> Row | None:
        with self._connection("get_user", how) as connection:
            if how == "prepared":
                return variants.get_user_prepared(connection, user_id)
            if how == "transaction":
                return variants.get_user_in_transaction(connection, user_id)
            return variants.get_user_sql(connection, user_id)

    def list_users(self, skip: int, limit: int, how: str) -> list[Row]:
        with self._connection("list_users", how) as connection:
            return variants.list_users_sql(connection, skip, limit)

    def create_user(self, data: schemas.UserCreate, how: str = "api") -> Row:
        with self._connection("create_user", how) as connection:
            return crud.create_user(connection, self.passwords, data)

    def update_user(self, user_id: int, data: schemas.UserUpdate, how: str = "api") -> Row:
        with self._connection("update_user", how) as connection:
            return crud.update_user(connection, self.passwords, user_id, data)

    def delete_user(self, user_id: int, how: str = "api") -> None:
        with self._connection("delete_user", how) as connection:
            crud.delete_user(connection, user_id)

    def users_with_tasks(self, limit: int, how: str) -> list[Row]:
        with self._connection("users_with_tasks", how) as connection:
            if how == "lazy":
                return variants.users_with_tasks_lazy(connection, limit)
            return variants.users_with_tasks_join(connection, limit)

    # --- tasks -----------------------------------------------------------------------------

    def bulk_insert_tasks(self, user_id: int, rows: list[dict[str, Any]], how: str) -> int:
        with self._connection("bulk_insert_tasks", how) as connection:
            if how == "row_per_commit":
                return variants.insert_tasks_row_per_commit(connection, user_id, rows)
            if how == "executemany":
                return variants.insert_tasks_executemany(connection, user_id, rows)
            if how == "execute_values":
                return variants.insert_tasks_execute_values(connection, user_id, rows)
            return variants.insert_tasks_copy(connection, user_id, rows)

    def bulk_update_tasks(self, items: list[dict[str, Any]], how: str) -> int:
        with self._connection("bulk_update_tasks", how) as connection:
            if how == "row_per_commit":
                return variants.update_tasks_row_per_commit(connection, items)
            if how == "executemany":
                return variants.update_tasks_executemany(connection, items)
            return variants.update_tasks_unnest(connection, items)

    def list_tasks(self, user_id: int, how: str = "api", **filters: Any) -> list[Row]:
        with self._connection("list_tasks", how) as connection:
            return crud.list_tasks(connection, user_id, **filters)

    def tasks_page(
        self, limit: int, how: str, offset: int = 0, after_id: int | None = None
    ) -> list[Row]:
        with self._connection("tasks_page", how) as connection:
            if how == "offset":
                return variants.tasks_page_offset(connection, limit, offset)
            return variants.tasks_page_keyset(connection, limit, after_id)

    def user_stats(self, user_id: int, how: str) -> schemas.UserStats | dict[str, Any]:
        with self._connection("user_stats", how) as connection:
            if how == "python":
                return variants.user_stats_python(connection, user_id)
            return crud.user_stats(connection, user_id)

    def transfer_task(
        self, task_id: int, from_user_id: int, to_user_id: int, how: str = "api"
    ) -> Row:
        with self._connection("transfer_task", how) as connection:
            return crud.transfer_task(connection, task_id, from_user_id, to_user_id)

    def savepoint(self, user_id: int, kept: str, dropped: str, how: str = "api") -> Row:
        with self._connection("savepoint", how) as connection:
            return variants.savepoint(connection, user_id, kept, dropped)
