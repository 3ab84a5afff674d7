"""Read what a port returned, whatever its shape: ORM object, SQLAlchemy Row, asyncpg Record,
dict. Used by ``verify`` after the timed call, never inside it."""

from collections.abc import Iterable, Mapping
from typing import Any

USER_FIELDS = ("id", "email", "username", "is_active")
TASK_FIELDS = ("id", "title", "description", "completed", "priority", "user_id")


def field(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value[name]
    mapping = getattr(value, "_mapping", None)  # SQLAlchemy Row
    if mapping is not None:
        return mapping[name]
    if hasattr(value, "keys") and hasattr(value, "__getitem__"):  # asyncpg Record
        return value[name]
    return getattr(value, name)


def plain(value: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: field(value, name) for name in names}


def user(value: Any) -> dict[str, Any]:
    return plain(value, USER_FIELDS)


def task(value: Any) -> dict[str, Any]:
    return plain(value, TASK_FIELDS)


def user_with_tasks(value: Any) -> dict[str, Any]:
    return {**user(value), "tasks": [task(t) for t in field(value, "tasks")]}
