"""The other ways to do what the scenarios measure, in Tortoise ORM: column-only reads, the
N+1 loop, row-at-a-time and bulk writes, paging, stats in Python, a savepoint.

None of this serves the API (``crud.py`` does); the port (``port.py``) calls these beside
the API's own functions, so one scenario can put the naive way next to the idiomatic one.
Like ``crud.py``, every function runs on the connection Tortoise finds in the active
TortoiseContext, or on the transaction an enclosing ``in_transaction()`` opened.
"""

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from implementations.contract import errors, schemas
from implementations.tortoise.crud import BULK_UPDATE_BATCH
from implementations.tortoise.models import Task, User

# Every column of a user, as the entity reads them (the password hash too): a column-only
# read does the same work as the entity, minus building one.
USER_COLUMNS = tuple(User._meta.db_fields)
# The entity without its password hash (``.only()``), as the API could read it.
USER_COLUMNS_BUT_HASH = tuple(c for c in USER_COLUMNS if c != "hashed_password")
UPDATED_FIELDS = ("completed", "priority", "updated_at")
TITLE_CLASH = "uq_tasks_user_id_title"
# PostgreSQL's protocol counts bind parameters in 16 bits: asyncpg refuses more than 32,767
# in one statement, and Tortoise sends every id of an IN list as a parameter of its own.
MAX_PARAMETERS = 32_767


# --- reads: leaner than the entity -----------------------------------------------------


async def get_user_deferred(user_id: int) -> User:
    # .only(): a partial model instance, without the password hash (Tortoise refuses to
    # save a partial instance, and raises on reading a field it did not load).
    user = await User.filter(id=user_id).only(*USER_COLUMNS_BUT_HASH).first()
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


async def get_user_columns(user_id: int) -> dict[str, Any]:
    # .values(): a dict per row, no model instance built.
    row = await User.filter(id=user_id).first().values(*USER_COLUMNS)
    if row is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return row


async def list_users_columns(skip: int, limit: int) -> list[dict[str, Any]]:
    return await User.all().order_by("id").offset(skip).limit(limit).values(*USER_COLUMNS)


# --- users with their tasks: the N+1 -----------------------------------------------------


async def users_with_tasks_lazy(skip: int, limit: int) -> Sequence[User]:
    """One SELECT for the users, then one per user for its tasks: Tortoise never loads a
    relation implicitly, so the naive loop is an explicit await per parent."""
    users = await User.all().order_by("id").offset(skip).limit(limit)
    for user in users:
        await user.fetch_related("tasks")
        # fetch_related takes relation names only, no ordering: tasks come back in whatever
        # order PostgreSQL reads them, and the contract wants them by id.
        user.tasks.related_objects.sort(key=attrgetter("id"))
    return users


# --- bulk insert -------------------------------------------------------------------------


async def insert_tasks_row_per_commit(user_id: int, rows: list[dict[str, Any]]) -> int:
    # Outside a transaction each INSERT commits on its own: a round trip and a commit per row.
    for row in rows:
        await Task.create(user_id=user_id, **row)
    return len(rows)


async def insert_tasks_add_all(user_id: int, rows: list[dict[str, Any]]) -> int:
    # Tortoise has no unit of work to add objects to: the nearest is a create per row,
    # inside one transaction, so only the commit is shared.
    async with in_transaction():
        for row in rows:
            await Task.create(user_id=user_id, **row)
    return len(rows)


async def insert_tasks_bulk_create(user_id: int, rows: list[dict[str, Any]]) -> int:
    # What crud.create_tasks_bulk does, from the scenario's dicts instead of the API's
    # schemas: one executemany of a single-row INSERT, i.e. one execution per task.
    tasks = [Task(user_id=user_id, **row) for row in rows]
    async with in_transaction():
        await Task.bulk_create(tasks)
    return len(tasks)


# --- bulk update -------------------------------------------------------------------------


async def update_tasks_row_per_commit(items: list[dict[str, Any]]) -> int:
    # A queryset UPDATE has no instance, so updated_at is stamped here, as a save would.
    updated = 0
    for item in items:
        updated += await Task.filter(id=item["id"]).update(
            completed=item["completed"], priority=item["priority"], updated_at=timezone.now()
        )
    return updated


async def _load_and_change(values: dict[int, dict[str, Any]], *only: str) -> list[Task]:
    """The tasks named in ``values``, all of them or a 404, with the new values set; one
    SELECT unless there are more ids than one statement can carry."""
    ids = list(values)
    tasks: list[Task] = []
    for start in range(0, len(ids), MAX_PARAMETERS):
        query = Task.filter(id__in=ids[start : start + MAX_PARAMETERS])
        tasks.extend(await (query.only(*only) if only else query))
    if missing := values.keys() - {task.id for task in tasks}:
        raise errors.tasks_not_found(missing)
    for task in tasks:
        task.completed = values[task.id]["completed"]
        task.priority = values[task.id]["priority"]
    return tasks


async def update_tasks_unit_of_work(items: list[dict[str, Any]]) -> int:
    # Load the entities, set attributes, save each: one UPDATE per row, one commit.
    values = {item["id"]: item for item in items}
    async with in_transaction():
        for task in await _load_and_change(values):
            await task.save(update_fields=UPDATED_FIELDS)
    return len(items)


async def update_tasks_bulk_update(items: list[dict[str, Any]]) -> int:
    # bulk_update needs the instances: one SELECT of the columns it writes, then one
    # UPDATE ... SET f = CASE WHEN id = $1 THEN $2 ... END per batch (crud's batch size).
    # Few statements, but PostgreSQL tries the WHENs in order for every row it updates: a
    # batch costs rows x batch comparisons per column, which is why it is not much faster
    # than a save per row.
    values = {item["id"]: item for item in items}
    async with in_transaction():
        tasks = await _load_and_change(values, "id", *UPDATED_FIELDS)
        await Task.bulk_update(tasks, fields=UPDATED_FIELDS, batch_size=BULK_UPDATE_BATCH)
    return len(items)


# --- a deep page of all tasks ------------------------------------------------------------


async def tasks_page_offset(limit: int, offset: int) -> Sequence[Task]:
    return await Task.all().order_by("id").offset(offset).limit(limit)


async def tasks_page_keyset(limit: int, after_id: int | None) -> Sequence[Task]:
    query = Task.all() if after_id is None else Task.filter(id__gt=after_id)
    return await query.order_by("id").limit(limit)


# --- stats computed in Python ------------------------------------------------------------


async def user_stats_python(user_id: int) -> schemas.UserStats:
    tasks = await Task.filter(user_id=user_id).order_by("id")
    # No tasks may mean no user: only then a second statement, to answer 404 like the API.
    if not tasks and not await User.exists(id=user_id):
        raise errors.NotFound(errors.USER_NOT_FOUND)
    total = len(tasks)
    completed = sum(task.completed for task in tasks)
    return schemas.UserStats(
        total=total,
        completed=completed,
        pending=total - completed,
        avg_priority=sum(task.priority for task in tasks) / total if total else 0.0,
    )


# --- a savepoint -------------------------------------------------------------------------


async def savepoint(user_id: int, kept: str, dropped: str) -> Task:
    """Insert ``kept``; try ``dropped`` (a title the user has) in a savepoint, roll back to
    it, commit the first insert."""
    async with in_transaction():
        task = await Task.create(user_id=user_id, title=kept)
        try:
            # Nested in_transaction() on the open transaction's connection: a SAVEPOINT,
            # rolled back when the block raises, so the outer transaction stays usable.
            async with in_transaction():
                await Task.create(user_id=user_id, title=dropped)
        except IntegrityError as exc:
            # Only the clash this savepoint is for; anything else fails the transaction.
            if getattr(exc.__cause__, "constraint_name", None) != TITLE_CLASH:
                raise
    return task
