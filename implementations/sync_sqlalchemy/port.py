"""The benchmark port (``scenarios/port.py``): the scenarios' way into this implementation.

Every operation opens a Session from the app's own Database, exactly as the request
dependency does (``database.get_session``), runs one way of doing the work, and closes it,
giving the connection back to the pool. The API's ways are ``crud.py``'s functions; the
others are in ``variants.py``. Results are returned as SQLAlchemy produces them (entities,
Rows), fully loaded: the scenarios read them after the Session is closed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from implementations.contract import schemas
from implementations.contract.ways import API_ONLY, PortBase, Ways, api, way
from implementations.sync_sqlalchemy import crud, variants
from implementations.sync_sqlalchemy.database import open_database

# Per operation, its ways (the port's ``how``), naive first; each takes the Session first.
GET_USER: Ways = {
    "legacy_query": variants.get_user_legacy_query,
    "entity": crud.get_user,
    "lambda": variants.get_user_lambda,
    "deferred": variants.get_user_deferred,
    "columns": variants.get_user_columns,
    "autocommit": crud.get_user,  # on an autocommit Session (see get_user below)
}
LIST_USERS: Ways = {
    "entity": crud.list_users,
    "columns": variants.list_users_columns,
}
USERS_WITH_TASKS: Ways = {
    "lazy": variants.users_with_tasks_lazy,
    "joined": variants.users_with_tasks_joined,
    "selectin": crud.list_users_with_tasks,
}
BULK_INSERT_TASKS: Ways = {
    "row_per_commit": variants.insert_tasks_row_per_commit,
    "add_all": variants.insert_tasks_add_all,
    "bulk_save_objects": variants.insert_tasks_bulk_save_objects,
    "insert_dicts": variants.insert_tasks_dicts,
}
BULK_UPDATE_TASKS: Ways = {
    "row_per_commit": variants.update_tasks_row_per_commit,
    "unit_of_work": variants.update_tasks_unit_of_work,
    "bulk_update_mappings": variants.update_tasks_bulk_update_mappings,
    "update_dicts": variants.update_tasks_dicts,
}
TASKS_PAGE: Ways = {
    "offset": variants.tasks_page_offset,
    "keyset": variants.tasks_page_keyset,
}
USER_STATS: Ways = {
    "python": variants.user_stats_python,
    "sql": crud.user_stats,
}


class Port(PortBase):
    name = "sync_sqlalchemy"
    mode = "sync"
    driver = "psycopg2"
    HOW: ClassVar[dict[str, tuple[str, ...]]] = {
        "get_user": tuple(GET_USER),
        "list_users": tuple(LIST_USERS),
        "create_user": API_ONLY,
        "update_user": API_ONLY,
        "delete_user": API_ONLY,
        "users_with_tasks": tuple(USERS_WITH_TASKS),
        "bulk_insert_tasks": tuple(BULK_INSERT_TASKS),
        "bulk_update_tasks": tuple(BULK_UPDATE_TASKS),
        "list_tasks": API_ONLY,
        "tasks_page": tuple(TASKS_PAGE),
        "user_stats": tuple(USER_STATS),
        "transfer_task": API_ONLY,
        "savepoint": API_ONLY,
    }

    def open(self) -> None:
        self._database = open_database(self.settings)

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    @contextmanager
    def _session(self, autocommit: bool = False) -> Iterator[Session]:
        # As database.get_session: one Session per call, closed (connection returned) after.
        database = self.database
        factory = database.autocommit_sessionmaker if autocommit else database.sessionmaker
        with factory() as session:
            yield session

    # --- users ---------------------------------------------------------------------------

    def get_user(self, user_id: int, how: str) -> Any:
        with self._session(autocommit=how == "autocommit") as session:
            return way(GET_USER, how)(session, user_id)

    def list_users(self, skip: int, limit: int, how: str) -> Any:
        with self._session() as session:
            return way(LIST_USERS, how)(session, skip, limit)

    def create_user(self, data: schemas.UserCreate, how: str = "api") -> Any:
        api(how)
        with self._session() as session:
            return crud.create_user(session, self.passwords, data)

    def update_user(self, user_id: int, data: schemas.UserUpdate, how: str = "api") -> Any:
        api(how)
        with self._session() as session:
            return crud.update_user(session, self.passwords, user_id, data)

    def delete_user(self, user_id: int, how: str = "api") -> None:
        api(how)
        with self._session() as session:
            crud.delete_user(session, user_id)

    def users_with_tasks(self, limit: int, how: str) -> Any:
        with self._session() as session:
            return way(USERS_WITH_TASKS, how)(session, 0, limit)

    # --- tasks ---------------------------------------------------------------------------

    def bulk_insert_tasks(self, user_id: int, rows: list[dict[str, Any]], how: str) -> int:
        with self._session() as session:
            return way(BULK_INSERT_TASKS, how)(session, user_id, rows)

    def bulk_update_tasks(self, items: list[dict[str, Any]], how: str) -> int:
        with self._session() as session:
            return way(BULK_UPDATE_TASKS, how)(session, items)

    def list_tasks(self, user_id: int, how: str = "api", **filters: Any) -> Any:
        api(how)
        with self._session() as session:
            return crud.list_tasks(session, user_id, **filters)

    def tasks_page(self, limit: int, how: str, offset: int = 0, after_id: int | None = None) -> Any:
        # Where the page starts: rows to skip for offset, the last id seen for keyset.
        start = after_id if how == "keyset" else offset
        with self._session() as session:
            return way(TASKS_PAGE, how)(session, limit, start)

    def user_stats(self, user_id: int, how: str) -> Any:
        with self._session() as session:
            return way(USER_STATS, how)(session, user_id)

    def transfer_task(self, task_id: int, from_user_id: int, to_user_id: int, how: str) -> Any:
        api(how)
        with self._session() as session:
            return crud.transfer_task(session, task_id, from_user_id, to_user_id)

    def savepoint(self, user_id: int, kept: str, dropped: str, how: str = "api") -> Any:
        api(how)
        with self._session() as session:
            return variants.savepoint(session, user_id, kept, dropped)
