"""Every SQL statement of the two raw floors, written once, with psycopg2's ``%(name)s``
placeholders.

``raw_asyncpg/queries.py`` renumbers these same strings into asyncpg's ``$1, $2, ...``, so
both floors send the same SQL and cannot drift apart. Named placeholders are the source
because that direction is mechanical (a name used twice keeps one number), and because a
statement reads better with ``%(user_id)s`` than with ``$3``. Keep ``%`` out of the SQL
otherwise: psycopg2 would need it doubled.

Column lists and sort orders are constants composed here at import time; nothing a client
sends is ever formatted into a statement, it travels as a parameter.
"""

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

USER_FIELDS = ("id", "email", "username", "is_active", "created_at", "updated_at")
TASK_FIELDS = (
    "id",
    "title",
    "description",
    "completed",
    "priority",
    "user_id",
    "created_at",
    "updated_at",
)
USER_COLUMNS = ", ".join(USER_FIELDS)  # never hashed_password: it must not leave the database
TASK_COLUMNS = ", ".join(TASK_FIELDS)

SERVER_VERSION = "SELECT current_setting('server_version')"

# --- users -------------------------------------------------------------------------------

CREATE_USER = f"""
INSERT INTO users (email, username, hashed_password)
VALUES (%(email)s, %(username)s, %(hashed_password)s)
RETURNING {USER_COLUMNS}
"""

LIST_USERS = f"SELECT {USER_COLUMNS} FROM users ORDER BY id OFFSET %(skip)s LIMIT %(limit)s"

GET_USER = f"SELECT {USER_COLUMNS} FROM users WHERE id = %(id)s"

# A PATCH in one statement. A field the client left out arrives as NULL and COALESCE keeps
# the stored value (an explicit null is refused by the schema before it gets here).
# updated_at moves only when a value really changes, like the ORMs' onupdate, which send no
# UPDATE at all for a no-op PATCH: ``NULL <> x`` is NULL, never true, so a field left out
# cannot trigger it.
UPDATE_USER = f"""
UPDATE users SET
    email = COALESCE(%(email)s, email),
    username = COALESCE(%(username)s, username),
    hashed_password = COALESCE(%(hashed_password)s, hashed_password),
    is_active = COALESCE(%(is_active)s, is_active),
    updated_at = CASE
        WHEN %(email)s <> email OR %(username)s <> username
            OR %(hashed_password)s <> hashed_password OR %(is_active)s <> is_active
        THEN now() ELSE updated_at
    END
WHERE id = %(id)s
RETURNING {USER_COLUMNS}
"""

# The tasks go with ON DELETE CASCADE, in the same statement.
DELETE_USER = "DELETE FROM users WHERE id = %(id)s"

# Eager loading as one LEFT JOIN (one round trip; a user without tasks still comes back,
# with NULL task columns). The page of users is cut in a subquery first, so OFFSET/LIMIT
# count users, not joined rows. Task columns are prefixed "task_" to keep the names apart.
_JOINED_TASK_COLUMNS = ", ".join(f"t.{field} AS task_{field}" for field in TASK_FIELDS)
_WITH_TASKS = f"""
SELECT u.*, {_JOINED_TASK_COLUMNS}
FROM ({{users}}) AS u
LEFT JOIN tasks AS t ON t.user_id = u.id
ORDER BY u.id, t.id
"""
LIST_USERS_WITH_TASKS = _WITH_TASKS.format(users=LIST_USERS)
GET_USER_WITH_TASKS = _WITH_TASKS.format(users=GET_USER)


def nest_tasks(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Users, each with its ``tasks``, from the rows of the two queries above."""
    users: dict[int, dict[str, Any]] = {}
    for row in rows:
        user = users.get(row["id"])
        if user is None:
            user = users[row["id"]] = {f: row[f] for f in USER_FIELDS} | {"tasks": []}
        if row["task_id"] is not None:  # NULL: a user with no tasks
            user["tasks"].append({f: row[f"task_{f}"] for f in TASK_FIELDS})
    return list(users.values())


def nest_task_tuples(
    rows: Iterable[Sequence[Any]], user_fields: Sequence[str] = USER_FIELDS
) -> list[dict[str, Any]]:
    """The same as ``nest_tasks``, from rows read by position (tuples, asyncpg Records): the
    user's columns (``user_fields``) first, then the task's. No lookup by name: what the
    benchmarks' floor does with the JOIN's rows (variants.py)."""
    width = len(user_fields)
    users: dict[int, dict[str, Any]] = {}
    for row in rows:
        user = users.get(row[0])
        if user is None:
            user = users[row[0]] = dict(zip(user_fields, row[:width], strict=True))
            user["tasks"] = []
        if row[width] is not None:  # the task's id; NULL: a user with no tasks
            user["tasks"].append(dict(zip(TASK_FIELDS, row[width:], strict=True)))
    return list(users.values())


# One aggregate; the LEFT JOIN keeps a user with no tasks, no row at all means no user.
# avg() of integers is numeric: cast so the driver hands back a float, not a Decimal.
USER_STATS = """
SELECT count(t.id) AS total,
       count(t.id) FILTER (WHERE t.completed) AS completed,
       COALESCE(avg(t.priority), 0)::float8 AS avg_priority
FROM users AS u
LEFT JOIN tasks AS t ON t.user_id = u.id
WHERE u.id = %(user_id)s
GROUP BY u.id
"""

# --- tasks -------------------------------------------------------------------------------

# No SELECT for the user first: the foreign key answers "User not found" (errors.py).
CREATE_TASK = f"""
INSERT INTO tasks (user_id, title, description, priority, completed)
VALUES (%(user_id)s, %(title)s, %(description)s, %(priority)s, %(completed)s)
RETURNING {TASK_COLUMNS}
"""

# Bulk create by COPY: one statement whatever the number of rows, all or nothing. It cannot
# return ids, which the API does not need; a violated constraint is still reported by name.
COPY_COLUMNS = ("user_id", "title", "description", "priority", "completed")
COPY_TASKS = f"COPY tasks ({', '.join(COPY_COLUMNS)}) FROM STDIN"

# Task lists: the filters and the sort are picked from these fixed fragments, so each
# combination is its own plain statement the planner can match to an index (a catch-all
# "%(x)s IS NULL OR ..." would hide the index from a generic plan).
TASK_FILTERS = {
    "completed": "completed = %(completed)s",
    "priority_min": "priority >= %(priority_min)s",
}
TASK_ORDER = {
    "created_at": "created_at DESC, id DESC",
    "priority": "priority DESC, id",
    "title": 'title COLLATE "C", id',
}


@cache
def list_tasks(filters: frozenset[str], sort_by: str) -> str:
    """The task list for these filters (keys of TASK_FILTERS) and sort, in one statement.

    The user's row is LEFT JOINed to its page of tasks, so the same statement says whether
    the user exists: no row at all means no such user, one row of NULLs an empty page. The
    page is cut in order inside; the outer ORDER BY (of at most ``limit`` rows) is there
    because a join promises no order, and its bare names are the output (task) columns.
    """
    where = " AND ".join(["user_id = u.id", *(TASK_FILTERS[f] for f in sorted(filters))])
    order = TASK_ORDER[sort_by]
    return f"""
SELECT t.*
FROM users AS u
LEFT JOIN LATERAL (
    SELECT {TASK_COLUMNS} FROM tasks
    WHERE {where}
    ORDER BY {order} OFFSET %(skip)s LIMIT %(limit)s
) AS t ON true
WHERE u.id = %(user_id)s
ORDER BY {order}
"""


GET_TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = %(id)s"

# As UPDATE_USER; description may be set to NULL, so it needs a flag saying it was given.
UPDATE_TASK = f"""
UPDATE tasks SET
    title = COALESCE(%(title)s, title),
    description = CASE WHEN %(description_given)s THEN %(description)s ELSE description END,
    priority = COALESCE(%(priority)s, priority),
    completed = COALESCE(%(completed)s, completed),
    updated_at = CASE
        WHEN %(title)s <> title OR %(priority)s <> priority OR %(completed)s <> completed
            OR (%(description_given)s AND %(description)s IS DISTINCT FROM description)
        THEN now() ELSE updated_at
    END
WHERE id = %(id)s
RETURNING {TASK_COLUMNS}
"""

# Locks the rows in id order, and finds the ids that do not exist, before anything is
# written. Two bulk updates sharing rows then queue one behind the other; left to the
# UPDATE alone, rows are locked in its plan's order (the array's for a few ids, the heap's
# for many), and concurrent overlapping requests deadlock, one of them failing.
LOCK_TASKS = "SELECT id FROM tasks WHERE id = ANY(%(ids)s::integer[]) ORDER BY id FOR UPDATE"

# Every item in one statement: the arrays are zipped back into rows by unnest. A field an
# item leaves out is NULL there, and COALESCE keeps the stored value.
UPDATE_TASKS_BULK = """
UPDATE tasks SET
    completed = COALESCE(v.completed, tasks.completed),
    priority = COALESCE(v.priority, tasks.priority),
    updated_at = now()
FROM unnest(%(ids)s::integer[], %(completed)s::boolean[], %(priority)s::integer[])
    AS v (id, completed, priority)
WHERE tasks.id = v.id
"""

DELETE_TASK = "DELETE FROM tasks WHERE id = %(id)s"

COUNT_USERS = "SELECT count(*) FROM users WHERE id IN (%(from_user_id)s, %(to_user_id)s)"

# Checks the ownership and takes the row lock in the same statement, so no SELECT ... FOR
# UPDATE before it: a concurrent transfer of this task waits here, then finds it no longer
# owned by from_user_id. A title clash at the receiver fails here, by constraint name.
MOVE_TASK = f"""
UPDATE tasks SET user_id = %(to_user_id)s, updated_at = now()
WHERE id = %(id)s AND user_id = %(from_user_id)s
RETURNING {TASK_COLUMNS}
"""

LOG_TRANSFER = """
INSERT INTO transfer_logs (task_id, from_user_id, to_user_id)
VALUES (%(id)s, %(from_user_id)s, %(to_user_id)s)
"""

# --- the benchmarks' other ways (port.py, variants.py): not used by the API ----------------

# A user as an ORM entity reads it: every column, the password hash included. The floors'
# benchmark reads take the same columns, so that a floor and an ORM entity do the same work
# (the API's own reads above never fetch the hash; an ORM's "deferred" way shows that saving).
USER_ROW_FIELDS = (*USER_FIELDS[:3], "hashed_password", *USER_FIELDS[3:])  # the table's order
USER_ROW_COLUMNS = ", ".join(USER_ROW_FIELDS)
GET_USER_ROW = f"SELECT {USER_ROW_COLUMNS} FROM users WHERE id = %(id)s"
LIST_USER_ROWS = f"SELECT {USER_ROW_COLUMNS} FROM users ORDER BY id OFFSET %(skip)s LIMIT %(limit)s"
LIST_USER_ROWS_WITH_TASKS = _WITH_TASKS.format(users=LIST_USER_ROWS)

# A user's tasks, one user at a time: the inner query of the hand-written N+1, and the rows
# that user_stats "in Python" counts.
USER_TASKS = f"SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = %(user_id)s ORDER BY id"

# One task per execution (row_per_commit, executemany). No RETURNING: the API's CREATE_TASK
# answers with the row, which a bulk insert has no use for.
INSERT_TASK = """
INSERT INTO tasks (user_id, title, description, priority, completed)
VALUES (%(user_id)s, %(title)s, %(description)s, %(priority)s, %(completed)s)
"""

# psycopg2's execute_values only (asyncpg has no such helper): it replaces the one bare
# placeholder with a page of "(...), (...)" row literals, so a page is one statement.
INSERT_TASKS_VALUES = f"INSERT INTO tasks ({', '.join(COPY_COLUMNS)}) VALUES %s"
INSERT_TASKS_VALUES_ROW = "(%(user_id)s, %(title)s, %(description)s, %(priority)s, %(completed)s)"

# One task per execution (row_per_commit, executemany), every field given: no COALESCE.
# updated_at moves as in the ORMs' onupdate and in UPDATE_TASKS_BULK.
UPDATE_TASK_VALUES = """
UPDATE tasks SET completed = %(completed)s, priority = %(priority)s, updated_at = now()
WHERE id = %(id)s
"""

# A deep page of all tasks by id, two ways: OFFSET reads and throws away every row before
# the page; the keyset starts at the last id seen, through the primary key.
TASKS_PAGE_OFFSET = (
    f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY id OFFSET %(offset)s LIMIT %(limit)s"
)
TASKS_PAGE_KEYSET = f"""
SELECT {TASK_COLUMNS} FROM tasks WHERE id > %(after_id)s ORDER BY id LIMIT %(limit)s
"""

# psycopg2 has no savepoint API: the transaction's inner scope is spelled out. (asyncpg
# writes the same three statements itself for a nested connection.transaction().)
SAVEPOINT = "SAVEPOINT before_insert"
ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT before_insert"
RELEASE_SAVEPOINT = "RELEASE SAVEPOINT before_insert"

# psycopg2 sends every statement as text to be parsed and planned anew (asyncpg prepares
# and caches them): a server-side prepared statement, once per connection, skips that.
# PREPARE takes $1, not a psycopg2 placeholder. pg_stat_statements records each EXECUTE as
# one call of the prepared SELECT, and PREPARE as none.
PREPARE_GET_USER = (
    f"PREPARE get_user (integer) AS SELECT {USER_ROW_COLUMNS} FROM users WHERE id = $1"
)
EXECUTE_GET_USER = "EXECUTE get_user (%(id)s)"
