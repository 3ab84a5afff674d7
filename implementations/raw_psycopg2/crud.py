"""Every operation the API and the scenarios need, in hand-written SQL (queries.py) on psycopg2.

The same functions, in the same order, as sync_sqlalchemy/crud.py. Each takes a pooled
connection first (autocommit, see database.py) and returns plain dicts that the contract
schemas validate. Almost every operation is one statement, and so its own transaction; the
two that need several statements to be atomic run inside ``transaction()``.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2

from implementations.contract import errors, schemas
from implementations.contract.security import Passwords
from implementations.raw_psycopg2 import queries
from implementations.raw_psycopg2.database import Connection, transaction

Row = dict[str, Any]

# COPY's text format: these four would otherwise end a field or a row; NUL never gets here
# (the schemas refuse it) and NULL is written as \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@contextmanager
def _constraint_errors() -> Iterator[None]:
    """A violated constraint becomes the contract's domain error, found by its name."""
    try:
        yield
    except psycopg2.IntegrityError as exc:
        domain_error = errors.from_constraint(exc.diag.constraint_name)
        if domain_error is None:
            raise
        raise domain_error from exc


def _one(connection: Connection, sql: str, params: dict[str, Any] | None = None) -> Row | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _all(connection: Connection, sql: str, params: dict[str, Any]) -> list[Row]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _value(connection: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    row = _one(connection, sql, params)
    return next(iter(row.values()))  # type: ignore[union-attr]


def _rowcount(connection: Connection, sql: str, params: dict[str, Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def server_version(connection: Connection) -> str:
    return _value(connection, queries.SERVER_VERSION)


# --- users -------------------------------------------------------------------------------


def create_user(connection: Connection, passwords: Passwords, data: schemas.UserCreate) -> Row:
    params = {
        "email": data.email,
        "username": data.username,
        "hashed_password": passwords.hash(data.password),
    }
    with _constraint_errors():
        return _one(connection, queries.CREATE_USER, params)  # type: ignore[return-value]


def list_users(connection: Connection, skip: int, limit: int) -> list[Row]:
    return _all(connection, queries.LIST_USERS, {"skip": skip, "limit": limit})


def get_user(connection: Connection, user_id: int) -> Row:
    user = _one(connection, queries.GET_USER, {"id": user_id})
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


def update_user(
    connection: Connection, passwords: Passwords, user_id: int, data: schemas.UserUpdate
) -> Row:
    # A field left out is None (an explicit null was refused): the SQL keeps its value.
    params = data.model_dump(exclude={"password"}) | {
        "hashed_password": None if data.password is None else passwords.hash(data.password),
        "id": user_id,
    }
    with _constraint_errors():
        user = _one(connection, queries.UPDATE_USER, params)
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


def delete_user(connection: Connection, user_id: int) -> None:
    if not _rowcount(connection, queries.DELETE_USER, {"id": user_id}):
        raise errors.NotFound(errors.USER_NOT_FOUND)


def list_users_with_tasks(connection: Connection, skip: int, limit: int) -> list[Row]:
    params = {"skip": skip, "limit": limit}
    # One statement, users LEFT JOIN tasks (see queries.py), regrouped here per user.
    return queries.nest_tasks(_all(connection, queries.LIST_USERS_WITH_TASKS, params))


def get_user_with_tasks(connection: Connection, user_id: int) -> Row:
    users = queries.nest_tasks(_all(connection, queries.GET_USER_WITH_TASKS, {"id": user_id}))
    if not users:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return users[0]


def user_stats(connection: Connection, user_id: int) -> schemas.UserStats:
    row = _one(connection, queries.USER_STATS, {"user_id": user_id})
    if row is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return schemas.UserStats(pending=row["total"] - row["completed"], **row)


# --- tasks -------------------------------------------------------------------------------


def create_task(connection: Connection, user_id: int, data: schemas.TaskCreate) -> Row:
    params = {"user_id": user_id, **data.model_dump()}
    with _constraint_errors():
        return _one(connection, queries.CREATE_TASK, params)  # type: ignore[return-value]


def _copy_field(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


def _copy_rows(user_id: int, items: list[schemas.TaskCreate]) -> io.StringIO:
    """The items as COPY text: a tab between fields, a line per row, in COPY_COLUMNS order."""
    lines = []
    for item in items:
        row = {"user_id": user_id, **item.model_dump()}
        lines.append("\t".join(_copy_field(row[column]) for column in queries.COPY_COLUMNS))
    return io.StringIO("\n".join(lines) + "\n")


def create_tasks_bulk(connection: Connection, user_id: int, items: list[schemas.TaskCreate]) -> int:
    # One COPY; a missing user or a clashing title fails it whole, reported by constraint name.
    with _constraint_errors(), connection.cursor() as cursor:
        cursor.copy_expert(queries.COPY_TASKS, _copy_rows(user_id, items))
    return len(items)


def list_tasks(
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
    sql = queries.list_tasks(frozenset(k for k, v in filters.items() if v is not None), sort_by)
    rows = _all(connection, sql, {"user_id": user_id, "skip": skip, "limit": limit, **filters})
    if not rows:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return [row for row in rows if row["id"] is not None]  # NULLs: an empty page


def get_task(connection: Connection, task_id: int) -> Row:
    task = _one(connection, queries.GET_TASK, {"id": task_id})
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return task


def update_task(connection: Connection, task_id: int, data: schemas.TaskUpdate) -> Row:
    # A field left out is None; description may also be set to None, hence the flag.
    params = data.model_dump() | {
        "description_given": "description" in data.model_fields_set,
        "id": task_id,
    }
    with _constraint_errors():
        task = _one(connection, queries.UPDATE_TASK, params)
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return task


def _bulk_columns(items: list[schemas.TaskBulkUpdateItem]) -> dict[str, list[Any]]:
    """The items as one array per column, the parameters of UPDATE_TASKS_BULK."""
    return {
        "ids": [item.id for item in items],
        "completed": [item.completed for item in items],
        "priority": [item.priority for item in items],
    }


def update_tasks_bulk(connection: Connection, items: list[schemas.TaskBulkUpdateItem]) -> int:
    ids = [item.id for item in items]
    # An item of only an id changes nothing (and so does not move updated_at), as in the ORMs.
    changes = [item for item in items if item.model_fields_set != {"id"}]
    with transaction(connection) as cursor:
        cursor.execute(queries.LOCK_TASKS, {"ids": ids})
        if missing := set(ids) - {row["id"] for row in cursor}:
            raise errors.tasks_not_found(missing)
        if changes:
            cursor.execute(queries.UPDATE_TASKS_BULK, _bulk_columns(changes))
    return len(items)


def delete_task(connection: Connection, task_id: int) -> None:
    if not _rowcount(connection, queries.DELETE_TASK, {"id": task_id}):
        raise errors.NotFound(errors.TASK_NOT_FOUND)


def transfer_task(connection: Connection, task_id: int, from_user_id: int, to_user_id: int) -> Row:
    """Move a task to another user and log it, atomically (one transaction, 3 statements)."""
    params = {"id": task_id, "from_user_id": from_user_id, "to_user_id": to_user_id}
    with _constraint_errors(), transaction(connection) as cursor:
        cursor.execute(queries.COUNT_USERS, params)
        if cursor.fetchone()["count"] != 2:
            raise errors.NotFound(errors.USER_NOT_FOUND)
        cursor.execute(queries.MOVE_TASK, params)
        task = cursor.fetchone()
        if task is None:
            raise errors.NotFound(errors.TASK_NOT_FOUND)
        cursor.execute(queries.LOG_TRANSFER, params)
    return task
