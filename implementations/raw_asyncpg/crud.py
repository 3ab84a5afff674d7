"""Every operation the API and the scenarios need, in hand-written SQL (queries.py) on asyncpg.

The same functions, in the same order, as sync_sqlalchemy/crud.py and raw_psycopg2/crud.py,
sending the same SQL. Each takes a pooled connection first and returns plain dicts that the
contract schemas validate. Almost every operation is one statement, which asyncpg runs as its
own transaction; the two that need several statements to be atomic open one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from starlette.concurrency import run_in_threadpool

from implementations.contract import errors, schemas
from implementations.contract.security import Passwords
from implementations.raw_asyncpg import queries
from implementations.raw_asyncpg.database import Connection

Row = dict[str, Any]


@contextmanager
def _constraint_errors() -> Iterator[None]:
    """A violated constraint becomes the contract's domain error, found by its name."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        domain_error = errors.from_constraint(exc.constraint_name)
        if domain_error is None:
            raise
        raise domain_error from exc


def _rowcount(status: str) -> int:
    """The row count of a command tag such as 'DELETE 1'."""
    return int(status.rsplit(" ", 1)[-1])


async def _hash(passwords: Passwords, password: str) -> str:
    # Argon2 takes milliseconds of CPU by design: in a worker thread, not on the event loop.
    return await run_in_threadpool(passwords.hash, password)


async def server_version(connection: Connection) -> str:
    return await connection.fetchval(*queries.SERVER_VERSION.bind())


# --- users -------------------------------------------------------------------------------


async def create_user(
    connection: Connection, passwords: Passwords, data: schemas.UserCreate
) -> Row:
    hashed_password = await _hash(passwords, data.password)
    query = queries.CREATE_USER.bind(
        email=data.email, username=data.username, hashed_password=hashed_password
    )
    with _constraint_errors():
        return dict(await connection.fetchrow(*query))


async def list_users(connection: Connection, skip: int, limit: int) -> list[Row]:
    rows = await connection.fetch(*queries.LIST_USERS.bind(skip=skip, limit=limit))
    return [dict(row) for row in rows]


async def get_user(connection: Connection, user_id: int) -> Row:
    user = await connection.fetchrow(*queries.GET_USER.bind(id=user_id))
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return dict(user)


async def update_user(
    connection: Connection, passwords: Passwords, user_id: int, data: schemas.UserUpdate
) -> Row:
    # A field left out is None (an explicit null was refused): the SQL keeps its value.
    hashed_password = None if data.password is None else await _hash(passwords, data.password)
    changes = data.model_dump(exclude={"password"})
    query = queries.UPDATE_USER.bind(**changes, hashed_password=hashed_password, id=user_id)
    with _constraint_errors():
        user = await connection.fetchrow(*query)
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return dict(user)


async def delete_user(connection: Connection, user_id: int) -> None:
    if not _rowcount(await connection.execute(*queries.DELETE_USER.bind(id=user_id))):
        raise errors.NotFound(errors.USER_NOT_FOUND)


async def list_users_with_tasks(connection: Connection, skip: int, limit: int) -> list[Row]:
    query = queries.LIST_USERS_WITH_TASKS.bind(skip=skip, limit=limit)
    # One statement, users LEFT JOIN tasks (see queries.py), regrouped here per user.
    return queries.nest_tasks(await connection.fetch(*query))


async def get_user_with_tasks(connection: Connection, user_id: int) -> Row:
    users = queries.nest_tasks(
        await connection.fetch(*queries.GET_USER_WITH_TASKS.bind(id=user_id))
    )
    if not users:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return users[0]


async def user_stats(connection: Connection, user_id: int) -> schemas.UserStats:
    row = await connection.fetchrow(*queries.USER_STATS.bind(user_id=user_id))
    if row is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return schemas.UserStats(pending=row["total"] - row["completed"], **dict(row))


# --- tasks -------------------------------------------------------------------------------


async def create_task(connection: Connection, user_id: int, data: schemas.TaskCreate) -> Row:
    query = queries.CREATE_TASK.bind(user_id=user_id, **data.model_dump())
    with _constraint_errors():
        return dict(await connection.fetchrow(*query))


async def create_tasks_bulk(
    connection: Connection, user_id: int, items: list[schemas.TaskCreate]
) -> int:
    # One COPY in the binary format (asyncpg encodes the values: nothing to escape); a missing
    # user or a clashing title fails it whole, reported by constraint name.
    records = [
        tuple({"user_id": user_id, **item.model_dump()}[c] for c in queries.COPY_COLUMNS)
        for item in items
    ]
    with _constraint_errors():
        await connection.copy_records_to_table(
            "tasks", records=records, columns=queries.COPY_COLUMNS
        )
    return len(items)


async def list_tasks(
    connection: Connection,
    user_id: int,
    *,
    completed: bool | None = None,
    priority_min: int | None = None,
    sort_by: schemas.TaskSort = "created_at",
    skip: int = 0,
    limit: int = 100,
) -> list[Row]:
    filters = {"completed": completed, "priority_min": priority_min}
    query = queries.list_tasks(frozenset(k for k, v in filters.items() if v is not None), sort_by)
    rows = await connection.fetch(*query.bind(user_id=user_id, skip=skip, limit=limit, **filters))
    if not rows:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return [dict(row) for row in rows if row["id"] is not None]  # NULLs: an empty page


async def get_task(connection: Connection, task_id: int) -> Row:
    task = await connection.fetchrow(*queries.GET_TASK.bind(id=task_id))
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return dict(task)


async def update_task(connection: Connection, task_id: int, data: schemas.TaskUpdate) -> Row:
    # A field left out is None; description may also be set to None, hence the flag.
    query = queries.UPDATE_TASK.bind(
        **data.model_dump(),
        description_given="description" in data.model_fields_set,
        id=task_id,
    )
    with _constraint_errors():
        task = await connection.fetchrow(*query)
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return dict(task)


def _bulk_columns(items: list[schemas.TaskBulkUpdateItem]) -> dict[str, list[Any]]:
    """The items as one array per column, the parameters of UPDATE_TASKS_BULK."""
    return {
        "ids": [item.id for item in items],
        "completed": [item.completed for item in items],
        "priority": [item.priority for item in items],
    }


async def update_tasks_bulk(connection: Connection, items: list[schemas.TaskBulkUpdateItem]) -> int:
    ids = [item.id for item in items]
    # An item of only an id changes nothing (and so does not move updated_at), as in the ORMs.
    changes = [item for item in items if item.model_fields_set != {"id"}]
    async with connection.transaction():
        locked = await connection.fetch(*queries.LOCK_TASKS.bind(ids=ids))
        if missing := set(ids) - {row["id"] for row in locked}:
            raise errors.tasks_not_found(missing)
        if changes:
            await connection.execute(*queries.UPDATE_TASKS_BULK.bind(**_bulk_columns(changes)))
    return len(items)


async def delete_task(connection: Connection, task_id: int) -> None:
    if not _rowcount(await connection.execute(*queries.DELETE_TASK.bind(id=task_id))):
        raise errors.NotFound(errors.TASK_NOT_FOUND)


async def transfer_task(
    connection: Connection, task_id: int, from_user_id: int, to_user_id: int
) -> Row:
    """Move a task to another user and log it, atomically (one transaction, 3 statements)."""
    params = {"id": task_id, "from_user_id": from_user_id, "to_user_id": to_user_id}
    with _constraint_errors():
        async with connection.transaction():
            if await connection.fetchval(*queries.COUNT_USERS.bind(**params)) != 2:
                raise errors.NotFound(errors.USER_NOT_FOUND)
            task = await connection.fetchrow(*queries.MOVE_TASK.bind(**params))
            if task is None:
                raise errors.NotFound(errors.TASK_NOT_FOUND)
            await connection.execute(*queries.LOG_TRANSFER.bind(**params))
    return dict(task)
