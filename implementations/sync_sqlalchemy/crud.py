"""Every operation the API and the scenarios need, in SQLAlchemy 2.x style.

Each function takes the Session first and commits its own work, so a constraint that fails
at COMMIT becomes a 409/404 here, not a 500 in the dependency's teardown.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from implementations.contract import errors, schemas
from implementations.contract.security import Passwords
from implementations.sync_sqlalchemy.models import Task, TransferLog, User

# Set explicitly on new objects: left unset, a column with an onupdate is SELECTed back after
# the INSERT (with eager_defaults), one statement more per create for a value known to be null.
NOT_UPDATED_YET = None

TASK_ORDER = {
    "created_at": (Task.created_at.desc(), Task.id.desc()),
    "priority": (Task.priority.desc(), Task.id),
    "title": (Task.title.collate("C"), Task.id),
}


@contextmanager
def _committing(session: Session, gone: str | None = None) -> Iterator[None]:
    """Commit the block's work; a violated constraint becomes the contract's domain error.

    With ``gone``, an UPDATE of a row that another request deleted since it was read (the ORM
    finds it matched no row) is a 404 with that text, as if the DELETE had come first.
    """
    try:
        yield
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        domain_error = errors.from_constraint(getattr(exc.orig.diag, "constraint_name", None))
        if domain_error is None:
            raise
        raise domain_error from exc
    except StaleDataError as exc:
        session.rollback()
        if gone is None:
            raise
        raise errors.NotFound(gone) from exc
    except BaseException:
        session.rollback()
        raise


def server_version(session: Session) -> str:
    return session.scalar(select(func.current_setting("server_version")))


# --- users -------------------------------------------------------------------------------


def create_user(session: Session, passwords: Passwords, data: schemas.UserCreate) -> User:
    user = User(
        email=data.email,
        username=data.username,
        hashed_password=passwords.hash(data.password),
        updated_at=NOT_UPDATED_YET,
    )
    with _committing(session):
        session.add(user)
    return user


def list_users(session: Session, skip: int, limit: int) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id).offset(skip).limit(limit)).all()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


def update_user(
    session: Session, passwords: Passwords, user_id: int, data: schemas.UserUpdate
) -> User:
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        changes["hashed_password"] = passwords.hash(changes.pop("password"))
    with _committing(session, gone=errors.USER_NOT_FOUND):
        for field, value in changes.items():
            setattr(user, field, value)
    return user


def delete_user(session: Session, user_id: int) -> None:
    with _committing(session):
        deleted = session.execute(delete(User).where(User.id == user_id)).rowcount
    if not deleted:
        raise errors.NotFound(errors.USER_NOT_FOUND)


def list_users_with_tasks(session: Session, skip: int, limit: int) -> Sequence[User]:
    # selectinload: one SELECT for the page of users, one for all their tasks (IN ...).
    query = select(User).options(selectinload(User.tasks)).order_by(User.id)
    return session.scalars(query.offset(skip).limit(limit)).all()


def get_user_with_tasks(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, options=[selectinload(User.tasks)])
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


def user_stats(session: Session, user_id: int) -> schemas.UserStats:
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
    row = session.execute(query).one_or_none()
    if row is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    total, completed, avg_priority = row
    return schemas.UserStats(
        total=total, completed=completed, pending=total - completed, avg_priority=avg_priority
    )


# --- tasks -------------------------------------------------------------------------------


def _require_user(session: Session, user_id: int) -> None:
    if session.scalar(select(User.id).where(User.id == user_id)) is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)


def create_task(session: Session, user_id: int, data: schemas.TaskCreate) -> Task:
    # No SELECT for the user first: the foreign key answers "User not found" (errors.py).
    task = Task(user_id=user_id, updated_at=NOT_UPDATED_YET, **data.model_dump())
    with _committing(session):
        session.add(task)
    return task


def create_tasks_bulk(session: Session, user_id: int, items: list[schemas.TaskCreate]) -> int:
    rows = [{"user_id": user_id, **item.model_dump()} for item in items]
    with _committing(session):
        # 2.0 bulk INSERT: batched into multi-row INSERT ... VALUES (insertmanyvalues).
        # render_nulls: by default a None is left out so a server default can apply, which
        # splits the rows into one batch per pattern of nulls (alternating null and non-null
        # descriptions: one statement per row). No column here has a default behind a None.
        session.execute(insert(Task).execution_options(render_nulls=True), rows)
    return len(rows)


def list_tasks(
    session: Session,
    user_id: int,
    *,
    completed: bool | None = None,
    priority_min: int | None = None,
    sort_by: schemas.TaskSort = "created_at",
    skip: int = 0,
    limit: int = 100,
) -> Sequence[Task]:
    _require_user(session, user_id)
    query = select(Task).where(Task.user_id == user_id)
    if completed is not None:
        query = query.where(Task.completed == completed)
    if priority_min is not None:
        query = query.where(Task.priority >= priority_min)
    query = query.order_by(*TASK_ORDER[sort_by]).offset(skip).limit(limit)
    return session.scalars(query).all()


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return task


def update_task(session: Session, task_id: int, data: schemas.TaskUpdate) -> Task:
    task = get_task(session, task_id)
    with _committing(session, gone=errors.TASK_NOT_FOUND):
        for field, value in data.model_dump(exclude_unset=True).items():
            setattr(task, field, value)
    return task


def update_tasks_bulk(session: Session, items: list[schemas.TaskBulkUpdateItem]) -> int:
    ids = [item.id for item in items]
    with _committing(session):
        # Lock the rows, and learn which ids exist, before changing any of them. In id order:
        # two bulk updates locking overlapping rows in different orders would deadlock.
        locked = select(Task.id).where(Task.id.in_(ids)).order_by(Task.id).with_for_update()
        found = set(session.scalars(locked))
        if missing := set(ids) - found:
            raise errors.tasks_not_found(missing)
        changes = [item.model_dump(exclude_unset=True) for item in items]
        if rows := [row for row in changes if len(row) > 1]:  # an item of only an id is a no-op
            # ORM bulk UPDATE by primary key: one executemany, grouped by the keys present.
            session.execute(update(Task), rows)
    return len(items)


def delete_task(session: Session, task_id: int) -> None:
    with _committing(session):
        deleted = session.execute(delete(Task).where(Task.id == task_id)).rowcount
    if not deleted:
        raise errors.NotFound(errors.TASK_NOT_FOUND)


def transfer_task(session: Session, task_id: int, from_user_id: int, to_user_id: int) -> Task:
    """Move a task to another user and log it, atomically (one transaction)."""
    with _committing(session):
        users = set(session.scalars(select(User.id).where(User.id.in_([from_user_id, to_user_id]))))
        if users != {from_user_id, to_user_id}:
            raise errors.NotFound(errors.USER_NOT_FOUND)
        owned = select(Task).where(Task.id == task_id, Task.user_id == from_user_id)
        task = session.scalar(owned.with_for_update())
        if task is None:
            raise errors.NotFound(errors.TASK_NOT_FOUND)
        task.user_id = to_user_id  # a title clash at the receiver fails here, as a 409
        session.add(TransferLog(task_id=task_id, from_user_id=from_user_id, to_user_id=to_user_id))
    return task
