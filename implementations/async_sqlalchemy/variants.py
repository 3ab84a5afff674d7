"""The other ways to do what ``crud.py`` does: naive, legacy and leaner forms, for the scenarios.

The API never calls these; the benchmark port (``port.py``) does, so that the cost of each
way can be measured beside the API's own. Each function takes the AsyncSession first, like
``crud.py``. Functions that write own their transaction (``session.begin()``): none of them
answers an HTTP request, so they need no mapping of constraint names to 404/409.
The 1.x bulk APIs kept here (``bulk_save_objects``, ``bulk_update_mappings``) are marked
LEGACY: they exist only as variants, to show what moving off them buys. AsyncSession has
neither; ``run_sync`` hands them the sync Session it drives, which is how async code calls
a Session method with no async twin. The 1.x Query API has no async form at all.
As in ``crud.py``, every query that returns entities names what it loads and forbids the
rest (``NO_LAZY_LOADS``), so nothing here loads lazily by accident.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, lambda_stmt, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, defer, joinedload, lazyload

from implementations.async_sqlalchemy import crud
from implementations.async_sqlalchemy.crud import NO_LAZY_LOADS, NOT_UPDATED_YET
from implementations.async_sqlalchemy.models import Task, User
from implementations.contract import errors, schemas

# Every column of a user, as the entity reads them (the password hash too): a column-only
# read does the same work as the entity, minus building one.
USER_COLUMNS = tuple(User.__table__.columns)
TITLE_UNIQUE = "uq_tasks_user_id_title"


def _found(user: Any) -> Any:
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


# --- get_user ----------------------------------------------------------------------------


async def get_user_lambda(session: AsyncSession, user_id: int) -> User:
    # SQLAlchemy already caches every select()'s compiled SQL, keyed on its structure;
    # lambda_stmt also skips building the select() itself: from the second call on the
    # lambda is not run, only its closure read (user_id becomes a bound parameter). That
    # reading costs too, so whether it pays for a statement this small is for the
    # benchmark to say.
    statement = lambda_stmt(lambda: select(User).options(NO_LAZY_LOADS).where(User.id == user_id))
    return _found((await session.scalars(statement)).one_or_none())


async def get_user_deferred(session: AsyncSession, user_id: int) -> User:
    # The entity without its password hash: left out of the SELECT (and, with
    # NO_LAZY_LOADS, an error rather than a hidden second SELECT if something touched it).
    options = [NO_LAZY_LOADS, defer(User.hashed_password, raiseload=True)]
    return _found(await session.get(User, user_id, options=options))


async def get_user_columns(session: AsyncSession, user_id: int) -> Row[Any]:
    # Rows, not entities: no identity map, no instance state, nothing to track.
    statement = select(*USER_COLUMNS).where(User.id == user_id)
    return _found((await session.execute(statement)).one_or_none())


# --- list_users --------------------------------------------------------------------------


async def list_users_columns(session: AsyncSession, skip: int, limit: int) -> Sequence[Row[Any]]:
    statement = select(*USER_COLUMNS).order_by(User.id).offset(skip).limit(limit)
    return (await session.execute(statement)).all()


# --- users_with_tasks --------------------------------------------------------------------


async def users_with_tasks_lazy(session: AsyncSession, skip: int, limit: int) -> Sequence[User]:
    # The N+1, spelled out: an AsyncSession refuses the implicit lazy load of sync's
    # ``user.tasks`` (MissingGreenlet), so each user's load is awaited. awaitable_attrs runs
    # the relationship's own lazy loader, the very SELECT sync sends, and fills user.tasks;
    # a hand-written select(Task) per user would send the same but leave the users bare.
    tasks = lazyload(User.tasks).options(NO_LAZY_LOADS)
    statement = select(User).options(tasks, NO_LAZY_LOADS).order_by(User.id)
    users = (await session.scalars(statement.offset(skip).limit(limit))).all()
    for user in users:
        await user.awaitable_attrs.tasks
    return users


async def users_with_tasks_joined(session: AsyncSession, skip: int, limit: int) -> Sequence[User]:
    # One statement: SQLAlchemy wraps the LIMITed users in a subquery and LEFT JOINs the
    # tasks to it, so each user's columns come back once per task. unique() folds the
    # repeated users back into one object each (required for joined collections).
    tasks = joinedload(User.tasks).options(NO_LAZY_LOADS)
    statement = select(User).options(tasks, NO_LAZY_LOADS).order_by(User.id)
    return (await session.scalars(statement.offset(skip).limit(limit))).unique().all()


# --- bulk_insert_tasks -------------------------------------------------------------------


def _new_tasks(user_id: int, rows: list[dict[str, Any]]) -> list[Task]:
    return [Task(user_id=user_id, updated_at=NOT_UPDATED_YET, **row) for row in rows]


async def insert_tasks_row_per_commit(
    session: AsyncSession, user_id: int, rows: list[dict[str, Any]]
) -> int:
    for task in _new_tasks(user_id, rows):
        session.add(task)
        await session.commit()
    return len(rows)


async def insert_tasks_add_all(
    session: AsyncSession, user_id: int, rows: list[dict[str, Any]]
) -> int:
    # The unit of work batches the INSERTs (insertmanyvalues) and still fetches each row's
    # id and created_at back (RETURNING), because the objects must know them afterwards.
    async with session.begin():
        session.add_all(_new_tasks(user_id, rows))
    return len(rows)


async def insert_tasks_bulk_save_objects(
    session: AsyncSession, user_id: int, rows: list[dict[str, Any]]
) -> int:
    # LEGACY: 1.x bulk API; the objects are not attached to the session and learn nothing
    # back (no ids). 2.0 says: insert() with a list of dicts (insert_tasks_dicts).
    async with session.begin():
        await session.run_sync(Session.bulk_save_objects, _new_tasks(user_id, rows))
    return len(rows)


async def insert_tasks_dicts(
    session: AsyncSession, user_id: int, rows: list[dict[str, Any]]
) -> int:
    # The statement crud.create_tasks_bulk sends (see RETURNING and render_nulls there), from
    # plain dicts instead of validated request items: no objects at all.
    async with session.begin():
        statement = insert(Task).returning(Task.id).execution_options(render_nulls=True)
        await session.execute(statement, [{"user_id": user_id, **row} for row in rows])
    return len(rows)


# --- bulk_update_tasks -------------------------------------------------------------------


async def update_tasks_row_per_commit(session: AsyncSession, items: list[dict[str, Any]]) -> int:
    updated = 0
    for item in items:
        values = {key: value for key, value in item.items() if key != "id"}
        statement = update(Task).where(Task.id == item["id"]).values(values)
        updated += (await session.execute(statement)).rowcount
        await session.commit()
    return updated


async def update_tasks_unit_of_work(session: AsyncSession, items: list[dict[str, Any]]) -> int:
    # One SELECT for the entities, then the flush sends one UPDATE per changed object: each
    # fetches the new updated_at back (RETURNING), which cannot be batched.
    async with session.begin():
        wanted = select(Task).options(NO_LAZY_LOADS).where(Task.id.in_([i["id"] for i in items]))
        by_id = {task.id: task for task in await session.scalars(wanted)}
        if missing := {item["id"] for item in items} - by_id.keys():
            raise errors.tasks_not_found(missing)
        for item in items:
            task = by_id[item["id"]]
            task.completed = item["completed"]
            task.priority = item["priority"]
    return len(items)


async def update_tasks_bulk_update_mappings(
    session: AsyncSession, items: list[dict[str, Any]]
) -> int:
    # LEGACY: 1.x bulk API; one executemany of UPDATE ... WHERE id = ?. 2.0 spells the same
    # thing session.execute(update(Task), items) (update_tasks_dicts).
    async with session.begin():
        await session.run_sync(Session.bulk_update_mappings, Task, items)  # type: ignore[arg-type]
    return len(items)


async def update_tasks_dicts(session: AsyncSession, items: list[dict[str, Any]]) -> int:
    # ORM bulk UPDATE by primary key: the dicts' "id" is the WHERE, the rest the SET; one
    # executemany. crud.update_tasks_bulk sends this too, after a SELECT ... FOR UPDATE.
    async with session.begin():
        await session.execute(update(Task), items)
    return len(items)


# --- tasks_page --------------------------------------------------------------------------


async def tasks_page_offset(session: AsyncSession, limit: int, offset: int) -> Sequence[Task]:
    statement = select(Task).options(NO_LAZY_LOADS).order_by(Task.id)
    return (await session.scalars(statement.offset(offset).limit(limit))).all()


async def tasks_page_keyset(
    session: AsyncSession, limit: int, after_id: int | None
) -> Sequence[Task]:
    statement = select(Task).options(NO_LAZY_LOADS).order_by(Task.id).limit(limit)
    if after_id is not None:
        statement = statement.where(Task.id > after_id)
    return (await session.scalars(statement)).all()


# --- user_stats --------------------------------------------------------------------------


async def user_stats_python(session: AsyncSession, user_id: int) -> schemas.UserStats:
    # The naive aggregate: every task travels and becomes an object, to be counted here.
    # No tasks may mean no user: only then a second statement, to answer 404 like the API.
    statement = select(Task).options(NO_LAZY_LOADS).where(Task.user_id == user_id)
    tasks = (await session.scalars(statement.order_by(Task.id))).all()
    if not tasks and await session.get(User, user_id, options=[NO_LAZY_LOADS]) is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    completed = sum(task.completed for task in tasks)
    return schemas.UserStats(
        total=len(tasks),
        completed=completed,
        pending=len(tasks) - completed,
        avg_priority=sum(task.priority for task in tasks) / len(tasks) if tasks else 0.0,
    )


# --- savepoint ---------------------------------------------------------------------------


async def savepoint(session: AsyncSession, user_id: int, kept: str, dropped: str) -> Task:
    """Insert ``kept``; try ``dropped`` (a title the user has) in a savepoint; commit."""
    task = Task(user_id=user_id, title=kept, updated_at=NOT_UPDATED_YET)
    async with session.begin():
        session.add(task)
        try:
            # begin_nested() flushes the pending ``kept`` first, then opens the SAVEPOINT;
            # leaving the block flushes ``dropped``, and on error rolls back to the savepoint.
            async with session.begin_nested():
                session.add(Task(user_id=user_id, title=dropped, updated_at=NOT_UPDATED_YET))
        except IntegrityError as exc:
            # Only the violation this savepoint exists for; asyncpg's error names it (crud).
            if crud._constraint_name(exc) != TITLE_UNIQUE:
                raise
    return task
