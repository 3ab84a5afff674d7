"""The SQL of raw_psycopg2/queries.py, renumbered for asyncpg: one source, two placeholder styles.

The statements are written once, with psycopg2's ``%(name)s`` placeholders (see that module
for each one's comments). Here each becomes a ``Query``: the same text with ``$1, $2, ...``
in order of first use, a name used twice keeping its number, plus the names in that order,
so a call still passes its parameters by name::

    await connection.fetchrow(*queries.GET_USER.bind(id=user_id))

asyncpg sends every ``fetch*`` call as a prepared statement and keeps it in the
connection's statement cache (100 by default), so each text below is parsed and planned
once per connection and afterwards only bound and executed.
"""

import re
from functools import cache
from typing import Any, NamedTuple

from implementations.raw_psycopg2 import queries as source
from implementations.raw_psycopg2.queries import (
    COPY_COLUMNS,
    TASK_FIELDS,
    USER_FIELDS,
    nest_task_tuples,
    nest_tasks,
)

__all__ = [
    "COPY_COLUMNS",
    "TASK_FIELDS",
    "USER_FIELDS",
    "nest_task_tuples",
    "nest_tasks",
]  # re-exported: crud and variants read them here

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Query(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the parameter name of $1, $2, ...

    def bind(self, **params: Any) -> tuple[Any, ...]:
        """``(sql, *args)`` for asyncpg; names the statement does not use are ignored."""
        return (self.sql, *(params[name] for name in self.names))


def numbered(sql: str) -> Query:
    """A psycopg2 statement with ``%(name)s`` placeholders, renumbered as ``$n``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return Query(_PLACEHOLDER.sub(number, sql).replace("%%", "%"), tuple(names))


SERVER_VERSION = numbered(source.SERVER_VERSION)

# --- users -------------------------------------------------------------------------------

CREATE_USER = numbered(source.CREATE_USER)
LIST_USERS = numbered(source.LIST_USERS)
GET_USER = numbered(source.GET_USER)
UPDATE_USER = numbered(source.UPDATE_USER)
DELETE_USER = numbered(source.DELETE_USER)
LIST_USERS_WITH_TASKS = numbered(source.LIST_USERS_WITH_TASKS)
GET_USER_WITH_TASKS = numbered(source.GET_USER_WITH_TASKS)
USER_STATS = numbered(source.USER_STATS)

# --- tasks -------------------------------------------------------------------------------

CREATE_TASK = numbered(source.CREATE_TASK)
# No COPY statement here: asyncpg's copy_records_to_table writes it, in the binary format.


@cache
def list_tasks(filters: frozenset[str], sort_by: str) -> Query:
    return numbered(source.list_tasks(filters, sort_by))


GET_TASK = numbered(source.GET_TASK)
UPDATE_TASK = numbered(source.UPDATE_TASK)
LOCK_TASKS = numbered(source.LOCK_TASKS)
UPDATE_TASKS_BULK = numbered(source.UPDATE_TASKS_BULK)
DELETE_TASK = numbered(source.DELETE_TASK)
COUNT_USERS = numbered(source.COUNT_USERS)
MOVE_TASK = numbered(source.MOVE_TASK)
LOG_TRANSFER = numbered(source.LOG_TRANSFER)

# --- the benchmarks' other ways (port.py, variants.py): not used by the API ----------------

USER_ROW_FIELDS = source.USER_ROW_FIELDS
GET_USER_ROW = numbered(source.GET_USER_ROW)
LIST_USER_ROWS = numbered(source.LIST_USER_ROWS)
LIST_USER_ROWS_WITH_TASKS = numbered(source.LIST_USER_ROWS_WITH_TASKS)
USER_TASKS = numbered(source.USER_TASKS)
INSERT_TASK = numbered(source.INSERT_TASK)
UPDATE_TASK_VALUES = numbered(source.UPDATE_TASK_VALUES)
TASKS_PAGE_OFFSET = numbered(source.TASKS_PAGE_OFFSET)
TASKS_PAGE_KEYSET = numbered(source.TASKS_PAGE_KEYSET)
# Not here: execute_values' statement (a psycopg2 helper), the savepoint statements (asyncpg
# sends them for a nested transaction()) and PREPARE/EXECUTE (asyncpg prepares everything).
