"""The port: the one interface through which scenarios drive an implementation.

Each implementation provides ``implementations/<name>/port.py`` with a class ``Port`` that
satisfies this protocol structurally (implementations never import ``scenarios``). A sync
port's operations return values; an async port's return coroutines, which the runner awaits
on its one long-lived event loop. Every operation takes a connection or session from the
pool and gives it back, as one request of the API would, and returns what the
implementation naturally produces (ORM objects, rows, dicts): the scenario's ``verify``
reads them after the timed call (``scenarios.shapes``).

``how`` chooses among the ways an implementation can do one operation. ``Port.HOW`` lists,
per operation, the ways this implementation offers, naive first; a scenario's variant
applies to an implementation exactly when its ``how`` is listed there. The ways, and the
statements each sends (checked by the engine tests):

| operation | how | meaning | statements |
|---|---|---|---|
| get_user | entity | the ORM's get by primary key | 1 |
| get_user | deferred | the entity without the password hash (SQLAlchemy ``defer``, Tortoise ``.only()``) | 1 |
| get_user | autocommit | the entity on an autocommit connection: no BEGIN before, no ROLLBACK after (SQLAlchemy ``isolation_level="AUTOCOMMIT"``) | 1 |
| get_user | no_reset | the port's usual read on an asyncpg pool that skips its reset query on release | 1 |
| get_user | transaction | hand-written SQL inside BEGIN ... ROLLBACK (floors; on asyncpg without the pool's reset), the round trips a SQLAlchemy Session pays | 1 |
| get_user | lambda | SQLAlchemy ``lambda_stmt``: the statement's construction cached by the lambda's code | 1 |
| get_user | columns | only the columns, no entity (SQLAlchemy ``select(cols)``, Tortoise ``.values()``) | 1 |
| get_user | legacy_query | ``session.query(User).filter_by(id=).first()`` (SQLAlchemy 1.x style) | 1 |
| get_user | sql | hand-written SQL (floors; asyncpg prepares it behind the scenes) | 1 |
| get_user | prepared | psycopg2: ``PREPARE`` once per connection, then ``EXECUTE`` | 1 |
| list_users | entity / columns / sql | a page of users ordered by id | 1 |
| create_user, update_user, delete_user, transfer_task | api | what ``crud.py`` does for the API | as the API |
| users_with_tasks | lazy | the first ``limit`` users, then their tasks one user at a time (async ORMs: an explicit await per parent, since they refuse implicit lazy loads) | 1 + N |
| users_with_tasks | joined | SQLAlchemy ``joinedload`` | 1 |
| users_with_tasks | selectin | SQLAlchemy ``selectinload`` | 1 + ceil(N / 500) |
| users_with_tasks | prefetch | Tortoise ``prefetch_related`` | 2 |
| users_with_tasks | join | hand-written LEFT JOIN (floors) | 1 |
| bulk_insert_tasks | row_per_commit | one INSERT and one COMMIT per row | N |
| bulk_insert_tasks | add_all | ORM objects added, one commit (SQLAlchemy unit of work; Tortoise: ``create`` per row in one transaction) | as the ORM batches |
| bulk_insert_tasks | bulk_save_objects | legacy SQLAlchemy ``Session.bulk_save_objects`` | as it batches |
| bulk_insert_tasks | insert_dicts | 2.0 ``insert(Task)`` with a list of dicts | ceil(N / 1000) |
| bulk_insert_tasks | bulk_create | Tortoise ``bulk_create`` | N (executemany) |
| bulk_insert_tasks | executemany | the driver's executemany (floors) | N |
| bulk_insert_tasks | execute_values | psycopg2's ``execute_values``: multi-row INSERTs | ceil(N / 1000) |
| bulk_insert_tasks | copy | COPY (floors) | 1 |
| bulk_update_tasks | row_per_commit | one UPDATE and one COMMIT per row | N |
| bulk_update_tasks | unit_of_work | load the entities, set attributes, one commit | 1 + N (SQLAlchemy) |
| bulk_update_tasks | bulk_update_mappings | legacy SQLAlchemy ``Session.bulk_update_mappings`` | N |
| bulk_update_tasks | update_dicts | 2.0 ORM bulk UPDATE by primary key, ``update(Task)`` with dicts | N |
| bulk_update_tasks | bulk_update | Tortoise ``bulk_update`` | 1 + ceil(N / 1000) |
| bulk_update_tasks | executemany | the driver's executemany (floors) | N |
| bulk_update_tasks | unnest | one ``UPDATE ... FROM unnest(...)`` (floors) | 1 |
| list_tasks | api | the API's filtered, sorted listing (``crud.list_tasks``) | as the API |
| tasks_page | offset | all tasks by id, ``OFFSET offset LIMIT limit`` | 1 |
| tasks_page | keyset | all tasks by id, ``WHERE id > after_id LIMIT limit`` | 1 |
| user_stats | sql | the API's aggregate in SQL | 1 |
| user_stats | python | load the user's tasks, count and average in Python (404 if no user) | 1 or 2 |
| savepoint | api | one transaction: insert task ``kept``; in a savepoint insert ``dropped`` with a title the user already has (unique violation), roll back to the savepoint; commit. Returns the kept task | 2 INSERTs sent (pg_stat_statements records 1: the failed one never completes) |

Bulk rows are dicts with ``title``, ``description``, ``priority``, ``completed``; bulk update
items are dicts with ``id``, ``completed``, ``priority``. ``bulk_*`` return the number of rows.
"""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol

from implementations.contract.counting import PoolStats


class Port(Protocol):
    HOW: ClassVar[Mapping[str, Sequence[str]]]
    name: str
    mode: Literal["sync", "async"]
    driver: str
    pool_stats: PoolStats

    @property
    def max_connections(self) -> int: ...

    # open() and close() are coroutines on an async port.
    def open(self) -> Any: ...
    def close(self) -> Any: ...

    def get_user(self, user_id: int, how: str) -> Any: ...
    def list_users(self, skip: int, limit: int, how: str) -> Any: ...
    def create_user(self, data: Any, how: str) -> Any: ...
    def update_user(self, user_id: int, data: Any, how: str) -> Any: ...
    def delete_user(self, user_id: int, how: str) -> Any: ...
    def users_with_tasks(self, limit: int, how: str) -> Any: ...
    def bulk_insert_tasks(self, user_id: int, rows: list[dict[str, Any]], how: str) -> Any: ...
    def bulk_update_tasks(self, items: list[dict[str, Any]], how: str) -> Any: ...
    def list_tasks(self, user_id: int, how: str, **filters: Any) -> Any: ...
    def tasks_page(
        self, limit: int, how: str, offset: int = 0, after_id: int | None = None
    ) -> Any: ...
    def user_stats(self, user_id: int, how: str) -> Any: ...
    def transfer_task(self, task_id: int, from_user_id: int, to_user_id: int, how: str) -> Any: ...
    def savepoint(self, user_id: int, kept: str, dropped: str, how: str) -> Any: ...


# Why a way has no row for some implementations; the report prints these.
WHY_NOT = {
    "legacy_query": "the 1.x Query API (session.query) exists only on the sync Session",
    "entity": "the floors have no entities, only rows",
    "columns": "the floors always select columns: their only way is hand-written SQL",
    "sql": "an ORM's ways are its own; hand-written SQL is the floor's",
    "lambda": "lambda_stmt is SQLAlchemy's way to cache building a statement",
    "deferred": "the floors choose their columns by hand: their only way is hand-written SQL",
    "autocommit": (
        "the floors already read in autocommit; Tortoise runs a read outside a transaction "
        "by itself"
    ),
    "no_reset": "only asyncpg's pool sends a reset query on release (Tortoise, raw_asyncpg)",
    "transaction": (
        "shown on the floors: hand-written SQL paying the round trips of a Session's "
        "BEGIN and ROLLBACK"
    ),
    "joined": "joinedload is SQLAlchemy's",
    "selectin": "selectinload is SQLAlchemy's",
    "prefetch": "prefetch_related is Tortoise's",
    "join": "the ORMs load relationships their own ways (joined, selectin, prefetch)",
    "add_all": "the floors have no unit of work",
    "bulk_save_objects": "a legacy API of SQLAlchemy's sync Session",
    "insert_dicts": "insert() with a list of dicts is SQLAlchemy 2.x's",
    "bulk_create": "bulk_create is Tortoise's",
    "executemany": "a driver-level way, shown on the floors",
    "copy": "COPY is a driver-level way, shown on the floors",
    "execute_values": "execute_values is psycopg2's (asyncpg has COPY and a pipelined executemany)",
    "prepared": "explicit PREPARE/EXECUTE is shown on psycopg2; asyncpg always prepares",
    "unit_of_work": "the floors have no unit of work",
    "bulk_update_mappings": "a legacy API of SQLAlchemy's sync Session",
    "update_dicts": "ORM bulk UPDATE by primary key is SQLAlchemy 2.x's",
    "bulk_update": "bulk_update is Tortoise's",
    "unnest": "UPDATE ... FROM unnest() is hand-written SQL, shown on the floors",
}
