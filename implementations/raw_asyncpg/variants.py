"""The other ways to do what the benchmarks compare, by hand on asyncpg (queries.py).

crud.py is the API's code and does each operation one way. The scenarios also measure the
ways a hand-written data layer could take instead: reads that return the driver's rows as
they come, the N+1 loop, bulk writes from one commit per row up to COPY, OFFSET against a
keyset, counting in Python, a savepoint. The same functions, in the same order, as
raw_psycopg2/variants.py. Each takes a pooled connection and returns the driver's rows
(asyncpg Records, not converted to dicts as crud does for the schemas), or a count for the
bulk writes.
"""

import contextlib
from typing import Any

import asyncpg

from implementations.contract import errors
from implementations.raw_asyncpg import queries
from implementations.raw_asyncpg.database import Connection

Row = Any  # what is read: an asyncpg Record, or a dict where a user carries its tasks
Data = dict[str, Any]  # what is written: a bulk row or item, as the scenarios give it


def _rowcount(status: str) -> int:
    """The row count of a command tag such as 'UPDATE 1000' or 'COPY 1000'."""
    return int(status.rsplit(" ", 1)[-1])


# --- reads -------------------------------------------------------------------------------


async def get_user_sql(connection: Connection, user_id: int) -> Row | None:
    # Prepared and cached by asyncpg on first use: no PREPARE of our own needed. Every
    # column, as an ORM entity reads it (queries.USER_ROW_COLUMNS): the same work.
    return await connection.fetchrow(*queries.GET_USER_ROW.bind(id=user_id))


async def get_user_in_transaction(connection: Connection, user_id: int) -> Row | None:
    """The same read inside BEGIN ... ROLLBACK: with a pool that does not reset (port.py),
    the three round trips async SQLAlchemy pays for it (BEGIN, the SELECT, the ROLLBACK of
    its pool's reset on return)."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        return await connection.fetchrow(*queries.GET_USER_ROW.bind(id=user_id))
    finally:
        await transaction.rollback()


async def list_users_sql(connection: Connection, skip: int, limit: int) -> list[Row]:
    return await connection.fetch(*queries.LIST_USER_ROWS.bind(skip=skip, limit=limit))


async def users_with_tasks_lazy(connection: Connection, limit: int) -> list[Row]:
    """The N+1 written out: the users, then one query per user for its tasks."""
    users = await connection.fetch(*queries.LIST_USER_ROWS.bind(skip=0, limit=limit))
    return [
        {**user, "tasks": await connection.fetch(*queries.USER_TASKS.bind(user_id=user["id"]))}
        for user in users
    ]


async def users_with_tasks_join(connection: Connection, limit: int) -> list[Row]:
    """The API's one LEFT JOIN (queries.py), its rows regrouped by position."""
    query = queries.LIST_USER_ROWS_WITH_TASKS.bind(skip=0, limit=limit)
    return queries.nest_task_tuples(await connection.fetch(*query), queries.USER_ROW_FIELDS)


# --- bulk insert: rows are dicts of title, description, priority, completed -------------


def _insert_args(user_id: int, rows: list[Data]) -> list[tuple[Any, ...]]:
    """Each row's values in the order of INSERT_TASK's placeholders (and COPY_COLUMNS)."""
    return [
        (user_id, row["title"], row["description"], row["priority"], row["completed"])
        for row in rows
    ]


async def insert_tasks_row_per_commit(
    connection: Connection, user_id: int, rows: list[Data]
) -> int:
    """One INSERT per row, outside a transaction: each commits on its own."""
    inserted = 0
    for args in _insert_args(user_id, rows):
        inserted += _rowcount(await connection.execute(queries.INSERT_TASK.sql, *args))
    return inserted


async def insert_tasks_executemany(connection: Connection, user_id: int, rows: list[Data]) -> int:
    # One execution per row, pipelined (no wait for each answer) and atomic by itself since
    # asyncpg 0.22: no transaction to open. It returns nothing, so the count is the input's.
    await connection.executemany(queries.INSERT_TASK.sql, _insert_args(user_id, rows))
    return len(rows)


async def insert_tasks_copy(connection: Connection, user_id: int, rows: list[Data]) -> int:
    """One COPY in the binary format, all rows in one statement: all or nothing by itself."""
    status = await connection.copy_records_to_table(
        "tasks", records=_insert_args(user_id, rows), columns=queries.COPY_COLUMNS
    )
    return _rowcount(status)


# --- bulk update: items are dicts of id, completed, priority ---------------------------


def _update_args(items: list[Data]) -> list[tuple[Any, ...]]:
    names = queries.UPDATE_TASK_VALUES.names
    return [tuple(item[name] for name in names) for item in items]


async def update_tasks_row_per_commit(connection: Connection, items: list[Data]) -> int:
    """One UPDATE per item, outside a transaction: each commits on its own."""
    updated = 0
    for args in _update_args(items):
        updated += _rowcount(await connection.execute(queries.UPDATE_TASK_VALUES.sql, *args))
    return updated


async def update_tasks_executemany(connection: Connection, items: list[Data]) -> int:
    # Pipelined and atomic, as for the insert; no count comes back.
    await connection.executemany(queries.UPDATE_TASK_VALUES.sql, _update_args(items))
    return len(items)


async def update_tasks_unnest(connection: Connection, items: list[Data]) -> int:
    """Every item in one UPDATE ... FROM unnest(arrays): one statement, so atomic alone."""
    query = queries.UPDATE_TASKS_BULK.bind(
        ids=[item["id"] for item in items],
        completed=[item["completed"] for item in items],
        priority=[item["priority"] for item in items],
    )
    return _rowcount(await connection.execute(*query))


# --- a deep page of tasks ----------------------------------------------------------------


async def tasks_page_offset(connection: Connection, limit: int, offset: int) -> list[Row]:
    return await connection.fetch(*queries.TASKS_PAGE_OFFSET.bind(offset=offset, limit=limit))


async def tasks_page_keyset(connection: Connection, limit: int, after_id: int | None) -> list[Row]:
    # Ids start at 1, so "after 0" is the first page.
    query = queries.TASKS_PAGE_KEYSET.bind(after_id=after_id or 0, limit=limit)
    return await connection.fetch(*query)


# --- aggregation in Python ---------------------------------------------------------------


async def user_stats_python(connection: Connection, user_id: int) -> dict[str, Any]:
    """Every task of the user over the wire, counted here; a second query only when there
    are none, to tell a user without tasks from no user at all."""
    tasks = await connection.fetch(*queries.USER_TASKS.bind(user_id=user_id))
    if not tasks and await connection.fetchrow(*queries.GET_USER.bind(id=user_id)) is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    total = len(tasks)
    completed = sum(1 for task in tasks if task["completed"])
    return {
        "total": total,
        "completed": completed,
        "pending": total - completed,
        "avg_priority": sum(task["priority"] for task in tasks) / total if total else 0.0,
    }


# --- a savepoint inside a transaction ----------------------------------------------------


def _new_task(user_id: int, title: str) -> Data:
    return {
        "user_id": user_id,
        "title": title,
        "description": None,
        "priority": 0,
        "completed": False,
    }


async def savepoint(connection: Connection, user_id: int, kept: str, dropped: str) -> Row:
    """Insert ``kept``; try ``dropped`` inside a savepoint and, when its title is taken,
    roll back to the savepoint only; commit ``kept``."""
    async with connection.transaction():
        task = await connection.fetchrow(*queries.CREATE_TASK.bind(**_new_task(user_id, kept)))
        # A transaction inside a transaction is a savepoint to asyncpg: the failed INSERT
        # rolls back to it, and the outer transaction goes on.
        with contextlib.suppress(asyncpg.UniqueViolationError):
            async with connection.transaction():
                await connection.fetchrow(*queries.CREATE_TASK.bind(**_new_task(user_id, dropped)))
    return task
