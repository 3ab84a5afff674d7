"""The benchmark port (``scenarios/port.py``): the scenarios' way into this implementation.

Tortoise has no session to open per call: a model query finds its connection through the
active TortoiseContext, takes one from the pool and gives it back (or uses the one an
``in_transaction()`` holds until it ends), exactly as in a request of the app. So the port
builds a TortoiseContext of its own from the app's Database config, with no process-wide
fallback (the app, the contract tests and other ports may share the process), and runs
every operation inside it. Operations are coroutines: the runner awaits them on its one
long-lived event loop. The API's ways are ``crud.py``'s functions; the others are in
``variants.py``. Results are returned as Tortoise produces them (model instances with their
relations fetched, dicts from ``.values()``): nothing is left to load afterwards.
"""

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from tortoise.context import TortoiseContext

from implementations.contract import schemas
from implementations.contract.settings import Settings
from implementations.contract.ways import API_ONLY, PortBase, Ways, api, way
from implementations.tortoise import crud, variants
from implementations.tortoise.database import entered, open_database

# Per operation, its ways (the port's ``how``), naive first; each returns a coroutine.
GET_USER: Ways = {
    "entity": crud.get_user,
    "deferred": variants.get_user_deferred,
    "columns": variants.get_user_columns,
    "no_reset": crud.get_user,  # on the pool without asyncpg's reset query (get_user below)
}
LIST_USERS: Ways = {
    "entity": crud.list_users,
    "columns": variants.list_users_columns,
}
USERS_WITH_TASKS: Ways = {
    "lazy": variants.users_with_tasks_lazy,
    "prefetch": crud.list_users_with_tasks,
}
BULK_INSERT_TASKS: Ways = {
    "row_per_commit": variants.insert_tasks_row_per_commit,
    "add_all": variants.insert_tasks_add_all,
    "bulk_create": variants.insert_tasks_bulk_create,
}
BULK_UPDATE_TASKS: Ways = {
    "row_per_commit": variants.update_tasks_row_per_commit,
    "unit_of_work": variants.update_tasks_unit_of_work,
    "bulk_update": variants.update_tasks_bulk_update,
}
TASKS_PAGE: Ways = {
    "offset": variants.tasks_page_offset,
    "keyset": variants.tasks_page_keyset,
}
USER_STATS: Ways = {
    "python": variants.user_stats_python,
    "sql": crud.user_stats,
}


async def _initialised(database: Any) -> TortoiseContext:
    """A TortoiseContext of its own for ``database``'s config, as RegisterTortoise makes."""
    context = TortoiseContext()
    with entered(context):
        await context.init(config=database.config)
    return context


class Port(PortBase):
    name = "tortoise"
    mode = "async"
    driver = "asyncpg"
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

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._context: TortoiseContext | None = None
        self._unreset: TortoiseContext | None = None  # for the no_reset way

    @property
    def max_connections(self) -> int:
        # Read from Tortoise's client for the pool, which only this port's context holds.
        with self._tortoise():
            return self.database.max_connections

    async def open(self) -> None:
        # As RegisterTortoise in the app's lifespan, minus the global fallback; the pool
        # itself opens on the first query, as in the app.
        database = open_database(self.settings)
        self._context = await _initialised(database)
        unreset = open_database(self.settings, reset=False)
        unreset.pool_stats = database.pool_stats  # one port, one set of pool figures
        self._unreset = await _initialised(unreset)
        self._database = database

    async def close(self) -> None:
        for context in (self._context, self._unreset):
            if context is not None:
                with entered(context):
                    await context.close_connections()
        self._context = self._unreset = self._database = None

    def _tortoise(self, reset: bool = True) -> AbstractContextManager[None]:
        # The request middleware's job in the app (app.use_tortoise_context).
        context = self._context if reset else self._unreset
        if context is None:
            raise RuntimeError("the port is not open: call open() first")
        return entered(context)

    # --- users ---------------------------------------------------------------------------

    async def get_user(self, user_id: int, how: str) -> Any:
        with self._tortoise(reset=how != "no_reset"):
            return await way(GET_USER, how)(user_id)

    async def list_users(self, skip: int, limit: int, how: str) -> Any:
        with self._tortoise():
            return await way(LIST_USERS, how)(skip, limit)

    async def create_user(self, data: schemas.UserCreate, how: str = "api") -> Any:
        api(how)
        with self._tortoise():
            return await crud.create_user(self.passwords, data)

    async def update_user(self, user_id: int, data: schemas.UserUpdate, how: str = "api") -> Any:
        api(how)
        with self._tortoise():
            return await crud.update_user(self.passwords, user_id, data)

    async def delete_user(self, user_id: int, how: str = "api") -> None:
        api(how)
        with self._tortoise():
            await crud.delete_user(user_id)

    async def users_with_tasks(self, limit: int, how: str) -> Any:
        with self._tortoise():
            return await way(USERS_WITH_TASKS, how)(0, limit)

    # --- tasks ---------------------------------------------------------------------------

    async def bulk_insert_tasks(self, user_id: int, rows: list[dict[str, Any]], how: str) -> int:
        with self._tortoise():
            return await way(BULK_INSERT_TASKS, how)(user_id, rows)

    async def bulk_update_tasks(self, items: list[dict[str, Any]], how: str) -> int:
        with self._tortoise():
            return await way(BULK_UPDATE_TASKS, how)(items)

    async def list_tasks(self, user_id: int, how: str = "api", **filters: Any) -> Any:
        api(how)
        with self._tortoise():
            return await crud.list_tasks(user_id, **filters)

    async def tasks_page(
        self, limit: int, how: str, offset: int = 0, after_id: int | None = None
    ) -> Any:
        start = after_id if how == "keyset" else offset
        with self._tortoise():
            return await way(TASKS_PAGE, how)(limit, start)

    async def user_stats(self, user_id: int, how: str) -> Any:
        with self._tortoise():
            return await way(USER_STATS, how)(user_id)

    async def transfer_task(
        self, task_id: int, from_user_id: int, to_user_id: int, how: str = "api"
    ) -> Any:
        api(how)
        with self._tortoise():
            return await crud.transfer_task(task_id, from_user_id, to_user_id)

    async def savepoint(self, user_id: int, kept: str, dropped: str, how: str = "api") -> Any:
        api(how)
        with self._tortoise():
            return await variants.savepoint(user_id, kept, dropped)
