"""The other ways to do what the benchmarks compare, by hand on psycopg2 (queries.py).

crud.py is the API's code and does each operation one way. The scenarios also measure the
ways a hand-written data layer could take instead: reads that return the driver's rows as
they come, the N+1 loop, bulk writes from one commit per row up to COPY, OFFSET against a
keyset, counting in Python, a savepoint. Each function takes a pooled connection (autocommit,
see database.py) and returns the driver's rows, or a count for the bulk writes.

Rows are read as named tuples, not as the API's dicts: RealDictCursor builds each row in
Python, which triples the cost of reading a hundred rows, and a floor must not pay that.
"""

import io
from typing import Any

import psycopg2.errors
import psycopg2.extras

from implementations.contract import errors
from implementations.raw_psycopg2 import queries
from implementations.raw_psycopg2.crud import _COPY_ESCAPES  # the API's COPY escapes the same
from implementations.raw_psycopg2.database import (
    Connection,
    CountingNamedTupleCursor,
    CountingTupleCursor,
    transaction,
)

Row = Any  # what is read: a named tuple, or a dict where a user carries its tasks
Data = dict[str, Any]  # what is written: a bulk row or item, as the scenarios give it

# execute_values' page: as many rows per INSERT as SQLAlchemy's insertmanyvalues batches.
VALUES_PAGE = 1000


def _cursor(connection: Connection) -> CountingNamedTupleCursor:
    return connection.cursor(cursor_factory=CountingNamedTupleCursor)


# --- reads -------------------------------------------------------------------------------


def get_user_sql(connection: Connection, user_id: int) -> Row | None:
    # Every column, as an ORM entity reads it (queries.USER_ROW_COLUMNS): the same work.
    with _cursor(connection) as cursor:
        cursor.execute(queries.GET_USER_ROW, {"id": user_id})
        return cursor.fetchone()


def get_user_in_transaction(connection: Connection, user_id: int) -> Row | None:
    """The same read inside BEGIN ... ROLLBACK: the three round trips a SQLAlchemy Session
    pays for it (BEGIN, the SELECT, the ROLLBACK of the pool's reset on return), so the ORM
    can be compared with a floor that pays the same protocol cost."""
    connection.autocommit = False  # psycopg2 sends BEGIN before the first statement
    try:
        with _cursor(connection) as cursor:
            cursor.execute(queries.GET_USER_ROW, {"id": user_id})
            return cursor.fetchone()
    finally:
        connection.rollback()
        connection.autocommit = True


def get_user_prepared(connection: Connection, user_id: int) -> Row | None:
    """The same read as a server-side prepared statement: parsed and planned once per
    connection. PREPARE lives as long as the session, so the connection remembers it."""
    with _cursor(connection) as cursor:
        if not getattr(connection, "prepared_get_user", False):
            cursor.execute(queries.PREPARE_GET_USER)
            connection.prepared_get_user = True  # type: ignore[attr-defined]
        cursor.execute(queries.EXECUTE_GET_USER, {"id": user_id})
        return cursor.fetchone()


def list_users_sql(connection: Connection, skip: int, limit: int) -> list[Row]:
    with _cursor(connection) as cursor:
        cursor.execute(queries.LIST_USER_ROWS, {"skip": skip, "limit": limit})
        return cursor.fetchall()


def users_with_tasks_lazy(connection: Connection, limit: int) -> list[Row]:
    """The N+1 written out: the users, then one query per user for its tasks."""
    with _cursor(connection) as cursor:
        cursor.execute(queries.LIST_USER_ROWS, {"skip": 0, "limit": limit})
        users = cursor.fetchall()
        with_tasks = []
        for user in users:
            cursor.execute(queries.USER_TASKS, {"user_id": user.id})
            with_tasks.append(user._asdict() | {"tasks": cursor.fetchall()})
    return with_tasks


def users_with_tasks_join(connection: Connection, limit: int) -> list[Row]:
    """The API's one LEFT JOIN (queries.py) on every user column, its rows read as tuples
    and regrouped by position."""
    with connection.cursor(cursor_factory=CountingTupleCursor) as cursor:
        cursor.execute(queries.LIST_USER_ROWS_WITH_TASKS, {"skip": 0, "limit": limit})
        return queries.nest_task_tuples(cursor.fetchall(), queries.USER_ROW_FIELDS)


# --- bulk insert: rows are dicts of title, description, priority, completed -------------


def _with_user(user_id: int, rows: list[Data]) -> list[Data]:
    return [{"user_id": user_id, **row} for row in rows]


def insert_tasks_row_per_commit(connection: Connection, user_id: int, rows: list[Data]) -> int:
    """One INSERT per row; in autocommit each is its own transaction, committed at once."""
    inserted = 0
    with connection.cursor(cursor_factory=CountingTupleCursor) as cursor:
        for row in _with_user(user_id, rows):
            cursor.execute(queries.INSERT_TASK, row)
            inserted += cursor.rowcount
    return inserted


def insert_tasks_executemany(connection: Connection, user_id: int, rows: list[Data]) -> int:
    # psycopg2's executemany is a loop of execute: a round trip per row, in one transaction.
    with transaction(connection) as cursor:
        cursor.executemany(queries.INSERT_TASK, _with_user(user_id, rows))
        return cursor.rowcount


def insert_tasks_execute_values(connection: Connection, user_id: int, rows: list[Data]) -> int:
    """psycopg2.extras.execute_values: multi-row INSERTs of VALUES_PAGE rows each."""
    with transaction(connection) as cursor:
        psycopg2.extras.execute_values(
            cursor,
            queries.INSERT_TASKS_VALUES,
            _with_user(user_id, rows),
            template=queries.INSERT_TASKS_VALUES_ROW,
            page_size=VALUES_PAGE,
        )
    return len(rows)  # execute_values leaves only the last page's rowcount


def _copy_nullable(value: str | None) -> str:
    return r"\N" if value is None else value.translate(_COPY_ESCAPES)


def _copy_text(user_id: int, rows: list[Data]) -> io.StringIO:
    # COPY_COLUMNS order; each column's type is known, so only the strings need escaping.
    lines = [
        "\t".join(
            (
                str(user_id),
                row["title"].translate(_COPY_ESCAPES),
                _copy_nullable(row["description"]),
                str(row["priority"]),
                "t" if row["completed"] else "f",
            )
        )
        for row in rows
    ]
    lines.append("")
    return io.StringIO("\n".join(lines))


def insert_tasks_copy(connection: Connection, user_id: int, rows: list[Data]) -> int:
    """One COPY, all rows streamed in one statement: all or nothing by itself."""
    with connection.cursor(cursor_factory=CountingTupleCursor) as cursor:
        cursor.copy_expert(queries.COPY_TASKS, _copy_text(user_id, rows))
        return cursor.rowcount


# --- bulk update: items are dicts of id, completed, priority ---------------------------


def update_tasks_row_per_commit(connection: Connection, items: list[Data]) -> int:
    """One UPDATE per item; in autocommit each is its own transaction, committed at once."""
    updated = 0
    with connection.cursor(cursor_factory=CountingTupleCursor) as cursor:
        for item in items:
            cursor.execute(queries.UPDATE_TASK_VALUES, item)
            updated += cursor.rowcount
    return updated


def update_tasks_executemany(connection: Connection, items: list[Data]) -> int:
    # A round trip per item, in one transaction; rowcount adds up every execution's.
    with transaction(connection) as cursor:
        cursor.executemany(queries.UPDATE_TASK_VALUES, items)
        return cursor.rowcount


def update_tasks_unnest(connection: Connection, items: list[Data]) -> int:
    """Every item in one UPDATE ... FROM unnest(arrays): one statement, so atomic alone."""
    columns = {
        "ids": [item["id"] for item in items],
        "completed": [item["completed"] for item in items],
        "priority": [item["priority"] for item in items],
    }
    with connection.cursor(cursor_factory=CountingTupleCursor) as cursor:
        cursor.execute(queries.UPDATE_TASKS_BULK, columns)
        return cursor.rowcount


# --- a deep page of tasks ----------------------------------------------------------------


def tasks_page_offset(connection: Connection, limit: int, offset: int) -> list[Row]:
    with _cursor(connection) as cursor:
        cursor.execute(queries.TASKS_PAGE_OFFSET, {"offset": offset, "limit": limit})
        return cursor.fetchall()


def tasks_page_keyset(connection: Connection, limit: int, after_id: int | None) -> list[Row]:
    # Ids start at 1, so "after 0" is the first page.
    with _cursor(connection) as cursor:
        cursor.execute(queries.TASKS_PAGE_KEYSET, {"after_id": after_id or 0, "limit": limit})
        return cursor.fetchall()


# --- aggregation in Python ---------------------------------------------------------------


def user_stats_python(connection: Connection, user_id: int) -> dict[str, Any]:
    """Every task of the user over the wire, counted here; a second query only when there
    are none, to tell a user without tasks from no user at all."""
    with _cursor(connection) as cursor:
        cursor.execute(queries.USER_TASKS, {"user_id": user_id})
        tasks = cursor.fetchall()
        if not tasks:
            cursor.execute(queries.GET_USER, {"id": user_id})
            if cursor.fetchone() is None:
                raise errors.NotFound(errors.USER_NOT_FOUND)
    total = len(tasks)
    completed = sum(1 for task in tasks if task.completed)
    return {
        "total": total,
        "completed": completed,
        "pending": total - completed,
        "avg_priority": sum(task.priority for task in tasks) / total if total else 0.0,
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


def savepoint(connection: Connection, user_id: int, kept: str, dropped: str) -> Row:
    """Insert ``kept``; try ``dropped`` inside a savepoint and, when its title is taken,
    roll back to the savepoint only; commit ``kept``."""
    with transaction(connection) as cursor:
        cursor.execute(queries.CREATE_TASK, _new_task(user_id, kept))
        task = cursor.fetchone()
        cursor.execute(queries.SAVEPOINT)
        try:
            cursor.execute(queries.CREATE_TASK, _new_task(user_id, dropped))
        except psycopg2.errors.UniqueViolation:
            # The failed INSERT aborted the transaction; this undoes only what followed
            # SAVEPOINT and makes the transaction usable again.
            cursor.execute(queries.ROLLBACK_TO_SAVEPOINT)
        else:
            cursor.execute(queries.RELEASE_SAVEPOINT)
    return task
