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


# --- what a call returned: its shape and its width, for the report's "same work" check ----


def describe(result: Any) -> tuple[str, list[int]]:
    """The kind of object a call returned per row (``entity``, ``row``, ``dict``, ``model``,
    ``count``, ``nothing``) and the columns it carries per row, outermost first: a user with
    its tasks is ``[7, 8]``. Reads the first row of a list."""
    if result is None:
        return "nothing", []
    if isinstance(result, bool | int):
        return "count", []
    if isinstance(result, list | tuple) and not hasattr(result, "_fields"):
        if not result:
            return "empty list", []
        return describe(result[0])
    kind, columns, nested = _row(result)
    return kind, [columns, *(describe(nested)[1] if nested is not None else [])]


def _row(value: Any) -> tuple[str, int, Any]:
    """(kind, columns, the first nested row or None) of one row."""
    state = getattr(value, "_sa_instance_state", None)
    if state is not None:  # a SQLAlchemy entity: the column attributes it loaded
        attributes = state.mapper.column_attrs.keys()  # iterating the collection gives values
        loaded = [key for key in attributes if key not in state.unloaded]
        tasks = state.dict.get("tasks")
        return "entity", len(loaded), tasks[0] if tasks else None
    meta = getattr(value, "_meta", None)
    if meta is not None and hasattr(meta, "db_fields"):  # a Tortoise model instance
        loaded = [name for name in meta.db_fields if name in value.__dict__]
        tasks = value.__dict__.get("_tasks")  # a fetched reverse relation, if any
        related = getattr(tasks, "related_objects", None) if tasks is not None else None
        return "entity", len(loaded), related[0] if related else None
    if hasattr(type(value), "model_fields"):  # a pydantic model (a schema the code built)
        return "model", len(type(value).model_fields), None
    mapping = getattr(value, "_mapping", None)
    if mapping is not None:  # a SQLAlchemy Row
        return "row", len(mapping), None
    if isinstance(value, Mapping):
        nested = [v for v in value.values() if isinstance(v, list)]
        first = nested[0][0] if nested and nested[0] else None
        columns = sum(1 for v in value.values() if not isinstance(v, list))
        return "dict", columns, first
    if hasattr(value, "keys") and hasattr(value, "__getitem__"):  # an asyncpg Record
        return "row", len(value), None
    if isinstance(value, tuple):  # psycopg2's named tuple or plain tuple
        return "row", len(value), None
    return type(value).__name__, 0, None
