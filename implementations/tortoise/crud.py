"""Every operation the API and the scenarios need, in Tortoise ORM style.

No session is passed: a model query runs on Tortoise's default connection, or inside the
transaction an enclosing ``in_transaction()`` opened. A statement outside a transaction
commits on its own, so a violated constraint raises from the statement itself and becomes
the contract's 409/404 here (``_constraint_errors``), never a 500.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, RawSQL
from tortoise.functions import Avg, Coalesce, Count
from tortoise.query_utils import Prefetch
from tortoise.transactions import in_transaction

from implementations.contract import errors, schemas
from implementations.contract.security import Passwords
from implementations.tortoise.models import Task, TransferLog, User

# Tortoise's order_by takes names, not expressions: the byte-ordered title (COLLATE "C")
# is an annotation, SELECTed alongside the task, and the ORDER BY names it.
TITLE_BYTES = {"title_bytes": RawSQL('"tasks"."title" COLLATE "C"')}

TASK_ORDER = {
    "created_at": ("-created_at", "-id"),
    "priority": ("-priority", "id"),
    "title": ("title_bytes", "id"),
}

# bulk_update writes one UPDATE ... SET f = CASE id WHEN ... per batch; each object costs 3
# bind parameters per field, and asyncpg allows at most 32,767 in one statement.
BULK_UPDATE_BATCH = 1_000


@contextmanager
def _constraint_errors() -> Iterator[None]:
    """A violated constraint becomes the contract's domain error, found by its name."""
    try:
        yield
    except IntegrityError as exc:
        # Tortoise wraps the driver's exception, which names the constraint.
        domain_error = errors.from_constraint(getattr(exc.__cause__, "constraint_name", None))
        if domain_error is None:
            raise
        raise domain_error from exc


async def _save_changes(obj: User | Task, changes: dict[str, Any], gone: str) -> None:
    """Write only the fields whose value differs, as a Session's flush does: nothing differs,
    no UPDATE, and ``updated_at`` keeps its value.

    A row another request deleted since it was read is a 404 with ``gone``, as if the DELETE
    had come first: ``force_update`` makes Tortoise check that its UPDATE matched a row.
    """
    changed = {name: value for name, value in changes.items() if getattr(obj, name) != value}
    if changed:
        obj.update_from_dict(changed)
        with _constraint_errors():
            try:
                await obj.save(update_fields=[*changed, "updated_at"], force_update=True)
            except IntegrityError as exc:
                if exc.__cause__ is None:  # no driver error: the UPDATE matched no row
                    raise errors.NotFound(gone) from exc
                raise


async def server_version() -> str:
    rows = await connections.get("default").execute_query_dict(
        "SELECT current_setting('server_version') AS server_version"
    )
    return rows[0]["server_version"]


# --- users -------------------------------------------------------------------------------


async def create_user(passwords: Passwords, data: schemas.UserCreate) -> User:
    # Argon2 takes milliseconds of CPU on purpose: off the event loop, or it stalls every
    # other request.
    hashed_password = await run_in_threadpool(passwords.hash, data.password)
    with _constraint_errors():
        return await User.create(
            email=data.email, username=data.username, hashed_password=hashed_password
        )


async def list_users(skip: int, limit: int) -> Sequence[User]:
    return await User.all().order_by("id").offset(skip).limit(limit)


async def get_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


async def update_user(passwords: Passwords, user_id: int, data: schemas.UserUpdate) -> User:
    user = await get_user(user_id)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        changes["hashed_password"] = await run_in_threadpool(
            passwords.hash, changes.pop("password")
        )
    await _save_changes(user, changes, gone=errors.USER_NOT_FOUND)
    return user


async def delete_user(user_id: int) -> None:
    if not await User.filter(id=user_id).delete():
        raise errors.NotFound(errors.USER_NOT_FOUND)


def _tasks_by_id() -> Prefetch:
    return Prefetch("tasks", queryset=Task.all().order_by("id"))


async def list_users_with_tasks(skip: int, limit: int) -> Sequence[User]:
    # prefetch_related: one SELECT for the page of users, one for all their tasks (IN ...).
    query = User.all().order_by("id").offset(skip).limit(limit)
    return await query.prefetch_related(_tasks_by_id())


async def get_user_with_tasks(user_id: int) -> User:
    user = await User.get_or_none(id=user_id).prefetch_related(_tasks_by_id())
    if user is None:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    return user


async def user_stats(user_id: int) -> schemas.UserStats:
    # One statement: the annotations over the reverse relation LEFT JOIN tasks (a user with
    # no tasks keeps its row) and GROUP BY the user; no row at all means no user.
    rows = (
        await User.filter(id=user_id)
        .annotate(
            total=Count("tasks__id"),
            # Not named "completed": the filter's tasks__completed would resolve to an
            # annotation of that name instead of the column.
            done=Count("tasks__id", _filter=Q(tasks__completed=True)),
            avg_priority=Coalesce(Avg("tasks__priority"), 0),
        )
        .group_by("id")
        .values("total", "done", "avg_priority")
    )
    if not rows:
        raise errors.NotFound(errors.USER_NOT_FOUND)
    row = rows[0]
    return schemas.UserStats(
        total=row["total"],
        completed=row["done"],
        pending=row["total"] - row["done"],
        avg_priority=row["avg_priority"],
    )


# --- tasks -------------------------------------------------------------------------------


async def _require_user(user_id: int) -> None:
    if not await User.exists(id=user_id):
        raise errors.NotFound(errors.USER_NOT_FOUND)


async def create_task(user_id: int, data: schemas.TaskCreate) -> Task:
    # No SELECT for the user first: the foreign key answers "User not found" (errors.py).
    with _constraint_errors():
        return await Task.create(user_id=user_id, **data.model_dump())


async def create_tasks_bulk(user_id: int, items: list[schemas.TaskCreate]) -> int:
    tasks = [Task(user_id=user_id, **item.model_dump()) for item in items]
    with _constraint_errors():
        async with in_transaction():
            # bulk_create on asyncpg: one executemany of a single-row INSERT, i.e. one
            # execution per task (there is no multi-row VALUES form in Tortoise).
            await Task.bulk_create(tasks)
    return len(tasks)


async def list_tasks(
    user_id: int,
    *,
    completed: bool | None = None,
    priority_min: int | None = None,
    sort_by: schemas.TaskSort = "created_at",
    skip: int = 0,
    limit: int = 100,
) -> Sequence[Task]:
    await _require_user(user_id)
    query = Task.filter(user_id=user_id)
    if completed is not None:
        query = query.filter(completed=completed)
    if priority_min is not None:
        query = query.filter(priority__gte=priority_min)
    if sort_by == "title":
        query = query.annotate(**TITLE_BYTES)
    return await query.order_by(*TASK_ORDER[sort_by]).offset(skip).limit(limit)


async def get_task(task_id: int) -> Task:
    task = await Task.get_or_none(id=task_id)
    if task is None:
        raise errors.NotFound(errors.TASK_NOT_FOUND)
    return task


async def update_task(task_id: int, data: schemas.TaskUpdate) -> Task:
    task = await get_task(task_id)
    await _save_changes(task, data.model_dump(exclude_unset=True), gone=errors.TASK_NOT_FOUND)
    return task


async def update_tasks_bulk(items: list[schemas.TaskBulkUpdateItem]) -> int:
    changes = {item.id: item.model_dump(exclude_unset=True, exclude={"id"}) for item in items}
    async with in_transaction():
        # Lock the rows, and learn which ids exist, before changing any of them; only the
        # columns bulk_update writes are loaded. In id order: two bulk updates locking
        # overlapping rows in different orders would deadlock.
        tasks = (
            await Task.filter(id__in=list(changes))
            .order_by("id")
            .select_for_update()
            .only("id", "completed", "priority", "updated_at")
        )
        if missing := changes.keys() - {task.id for task in tasks}:
            raise errors.tasks_not_found(missing)
        changed = [task.update_from_dict(changes[task.id]) for task in tasks if changes[task.id]]
        if changed:  # an item of only an id is a no-op
            # One UPDATE per batch: SET completed = CASE id WHEN ... (the locked values for
            # the tasks whose item left a field out), updated_at stamped by the field.
            fields = sorted({name for change in changes.values() for name in change})
            await Task.bulk_update(
                changed, fields=[*fields, "updated_at"], batch_size=BULK_UPDATE_BATCH
            )
    return len(items)


async def delete_task(task_id: int) -> None:
    if not await Task.filter(id=task_id).delete():
        raise errors.NotFound(errors.TASK_NOT_FOUND)


async def transfer_task(task_id: int, from_user_id: int, to_user_id: int) -> Task:
    """Move a task to another user and log it, atomically (one transaction)."""
    with _constraint_errors():
        async with in_transaction():
            users = await User.filter(id__in=[from_user_id, to_user_id]).values_list(
                "id", flat=True
            )
            if set(users) != {from_user_id, to_user_id}:
                raise errors.NotFound(errors.USER_NOT_FOUND)
            owned = Task.filter(id=task_id, user_id=from_user_id)
            task = await owned.select_for_update().get_or_none()
            if task is None:
                raise errors.NotFound(errors.TASK_NOT_FOUND)
            task.user_id = to_user_id  # a title clash at the receiver fails here, as a 409
            await task.save(update_fields=["user_id", "updated_at"])
            await TransferLog.create(
                task_id=task_id, from_user_id=from_user_id, to_user_id=to_user_id
            )
    return task
