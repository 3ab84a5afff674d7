"""Every operation the API and the scenarios need, in SQLAlchemy 2.x style on an AsyncSession.

Each function takes the AsyncSession first and commits its own work, so a constraint that
fails at COMMIT becomes a 409/404 here, not a 500 in the dependency's teardown.

Nothing may load lazily: under an AsyncSession a lazy load is IO where no ``await`` can run
(building the response, for one), and it fails with ``MissingGreenlet``, or, inside the
greenlet, silently sends the N+1 queries this project measures. So each query that returns
ORM objects names what it loads (``selectinload``) and adds ``NO_LAZY_LOADS`` for the rest:
touching a relationship nobody loaded then raises at once, with the attribute's name.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from anyio import to_thread
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from implementations.async_sqlalchemy.models import Task, TransferLog, User
from implementations.contract import errors, schemas
from implementations.contract.security import Passwords

# Set explicitly on new objects: left unset, a column with an onupdate is SELECTed back after
# the INSERT (with eager_defaults), one statement more per create for a value known to be null.
NOT_UPDATED_YET = None

# Every relationship a query does not load explicitly raises when touched (see above).
NO_LAZY_LOADS = raiseload("*")

TASK_ORDER = {
    "created_at": (Task.created_at.desc(), Task.id.desc()),
    "priority": (Task.priority.desc(), Task.id),
    "title": (Task.title.collate("C"), Task.id),
}


def _constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint's name, as asyncpg reports it.

    ``exc.orig`` is not asyncpg's exception but SQLAlchemy's emulated DBAPI error around it,
    which keeps the SQLSTATE and detail but not the constraint name. asyncpg's own exception
    has it: SQLAlchemy 2.1 hands it out as ``exc.driver_exception``; 2.0 only chains it, as
    the cause the emulated error was raised from.
    """
    driver_error = getattr(exc, "driver_exception", None) or exc.orig.__cause__
    return getattr(driver_error, "constraint_name", None)


@asynccontextmanager
async def _committing(session: AsyncSession, gone: str | None = None) -> AsyncIterator[None]:
    """Commit the block's work; a violated constraint becomes the contract's domain error.

    With ``gone``, an UPDATE of a row that another request deleted since it was read (the ORM
    finds it matched no row) is a 404 with that text, as if the DELETE had come first.
    """
    try:
        yield
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        domain_error = errors.from_constraint(_constraint_name(exc))
        if domain_error is None:
            raise
        raise domain_error from exc
    except StaleDataError as exc:
        await session.rollback()
        if gone is None:
            raise
        raise errors.NotFound(gone) from exc
    except BaseException:
        await session.rollback()
        raise


async def _hash(passwords: Passwords, password: str) -> str:
    # Argon2 is CPU-bound by design (milliseconds per hash at the default cost): run on the
    # event loop it would stall every other request for that long. argon2-cffi releases the
    # GIL while hashing, so a worker thread lets the loop go on serving.
    return await to_thread.run_sync(passwords.hash, password)


async def server_version(session: AsyncSession) -> str:
    return await session.scalar(select(func.current_setting("server_version")))


# --- users -------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession, passwords: Passwords, data: schemas.UserCreate
) -> User:
    user = User(
        email=data.email,
        username=data.username,
        hashed_password=await _hash(passwords, data.password),
        updated_at=NOT_UPDATED_YET,
    )
    async with _committing(session):
        session.add(user)
    return user


async def list_users(session: AsyncSession, skip: int, limit: int) -> Sequence[User]:
    query = select(User).options(NO_LAZY_LOADS).order_by(User.id).offset(skip).limit(limit)
    return (await session.scalars(query)).all()


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id, options=[NO_LAZY_LOADS])
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


async def update_user(
    session: AsyncSession, passwords: Passwords, user_id: int, data: schemas.UserUpdate
) -> User:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        changes["hashed_password"] = await _hash(passwords, changes.pop("password"))
    async with _committing(session, gone=errors.USER_NOT_FOUND):
        for field, value in changes.items():
            setattr(user, field, value)
    return user


async def delete_user(session: AsyncSession, user_id: int) -> None:
    async with _committing(session):
        deleted = (await session.execute(delete(User).where(User.id == user_id))).rowcount
    if not deleted:
        raise errors.NotFound(errors.USER_NOT_FOUND)


async def list_users_with_tasks(session: AsyncSession, skip: int, limit: int) -> Sequence[User]:
    # selectinload: one SELECT for the page of users, one for all their tasks (IN ...).
    tasks = selectinload(User.tasks).options(NO_LAZY_LOADS)
    query = select(User).options(tasks, NO_LAZY_LOADS).order_by(User.id)
    return (await session.scalars(query.offset(skip).limit(limit))).all()


async def get_user_with_tasks(session: AsyncSession, user_id: int) -> User:
    tasks = selectinload(User.tasks).options(NO_LAZY_LOADS)
    user = await session.get(User, user_id, options=[tasks, NO_LAZY_LOADS])
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


async def user_stats(session: AsyncSession, user_id: int) -> schemas.UserStats:
    # One statement: the LEFT JOIN keeps a user with no tasks, no row at all means no user.
    query = (
        select(
            func.count(Task.id),
            func.count(Task.id).filter(Task.completed),
            func.coalesce(func.avg(Task.priority), 0),
        )
        .select_from(User)
        .outerjoin(Task)
        .where(User.id == user_id)
        .group_by(User.id)
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    total, completed, avg_priority = row
    return schemas.UserStats(
        total=total, completed=completed, pending=total - completed, avg_priority=avg_priority
    )


# --- tasks -------------------------------------------------------------------------------


async def _require_user(session: AsyncSession, user_id: int) -> None:
    if await session.scalar(select(User.id).where(User.id == user_id)) is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)


async def create_task(session: AsyncSession, user_id: int, data: schemas.TaskCreate) -> Task:
    # No SELECT for the user first: the foreign key answers "User not found" (errors.py).
    task = Task(user_id=user_id, updated_at=NOT_UPDATED_YET, **data.model_dump())
    async with _committing(session):
        session.add(task)
    return task


async def create_tasks_bulk(
    session: AsyncSession, user_id: int, items: list[schemas.TaskCreate]
) -> int:
    rows = [{"user_id": user_id, **item.model_dump()} for item in items]
    async with _committing(session):
        # 2.0 bulk INSERT: batched into multi-row INSERT ... VALUES (insertmanyvalues), as on
        # psycopg2, but on asyncpg SQLAlchemy batches only an INSERT with RETURNING; without
        # one it hands the rows to asyncpg's executemany: N statements, one per row. The ids
        # it returns are not needed; RETURNING keeps the statement count equal to sync's.
        # render_nulls: as in sync, so a mix of null and non-null descriptions stays one batch.
        bulk_insert = insert(Task).returning(Task.id).execution_options(render_nulls=True)
        await session.execute(bulk_insert, rows)
    return len(rows)


async def list_tasks(
    session: AsyncSession,
    user_id: int,
    *,
    completed: bool | None = None,
    priority_min: int | None = None,
    sort_by: schemas.TaskSort = "created_at",
    skip: int = 0,
    limit: int = 100,
) -> Sequence[Task]:
    await _require_user(session, user_id)
    query = select(Task).options(NO_LAZY_LOADS).where(Task.user_id == user_id)
    if completed is not None:
        query = query.where(Task.completed == completed)
    if priority_min is not None:
        query = query.where(Task.priority >= priority_min)
    query = query.order_by(*TASK_ORDER[sort_by]).offset(skip).limit(limit)
    return (await session.scalars(query)).all()


async def get_task(session: AsyncSession, task_id: int) -> Task:
    task = await session.get(Task, task_id, options=[NO_LAZY_LOADS])
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return task


async def update_task(session: AsyncSession, task_id: int, data: schemas.TaskUpdate) -> Task:
    task = await get_task(session, task_id)
    async with _committing(session, gone=errors.TASK_NOT_FOUND):
        for field, value in data.model_dump(exclude_unset=True).items():
            setattr(task, field, value)
    return task


async def update_tasks_bulk(session: AsyncSession, items: list[schemas.TaskBulkUpdateItem]) -> int:
    ids = [item.id for item in items]
    async with _committing(session):
        # Lock the rows, and learn which ids exist, before changing any of them. In id order:
        # two bulk updates locking overlapping rows in different orders would deadlock.
        locked = select(Task.id).where(Task.id.in_(ids)).order_by(Task.id).with_for_update()
        found = set(await session.scalars(locked))
        if missing := set(ids) - found:
            raise errors.tasks_not_found(missing)
        changes = [item.model_dump(exclude_unset=True) for item in items]
        if rows := [row for row in changes if len(row) > 1]:  # an item of only an id is a no-op
            # ORM bulk UPDATE by primary key: one executemany, grouped by the keys present.
            await session.execute(update(Task), rows)
    return len(items)


async def delete_task(session: AsyncSession, task_id: int) -> None:
    async with _committing(session):
        deleted = (await session.execute(delete(Task).where(Task.id == task_id))).rowcount
    if not deleted:
        raise errors.NotFound(errors.TASK_NOT_FOUND)


async def transfer_task(
    session: AsyncSession, task_id: int, from_user_id: int, to_user_id: int
) -> Task:
    """Move a task to another user and log it, atomically (one transaction)."""
    async with _committing(session):
        both = select(User.id).where(User.id.in_([from_user_id, to_user_id]))
        users = set(await session.scalars(both))
        if users != {from_user_id, to_user_id}:
            raise errors.NotFound(errors.USER_NOT_FOUND)
        owned = select(Task).where(Task.id == task_id, Task.user_id == from_user_id)
        task = await session.scalar(owned.options(NO_LAZY_LOADS).with_for_update())
        if task is None:
            raise errors.NotFound(errors.TASK_NOT_FOUND)
        task.user_id = to_user_id  # a title clash at the receiver fails here, as a 409
        session.add(TransferLog(task_id=task_id, from_user_id=from_user_id, to_user_id=to_user_id))
    return task
