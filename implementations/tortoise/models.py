"""Tortoise models mapped onto the schema of docs/schema.md (the tables Alembic's migrations make).

Same tables, columns, types and constraint names as ``sync_sqlalchemy/models.py``. The app
never creates or alters these tables (no ``generate_schemas``); the constraints and indexes
are declared anyway, with the schema's names, so the models say what the database holds and
Tortoise's own migrations (``migrations/`` beside this file) build the same schema from them
(``tests/migrations/test_schema_equivalence.py`` compares the two).
"""

from datetime import datetime
from typing import Any

from tortoise import fields, timezone
from tortoise.fields.db_defaults import Now
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class UpdatedAtField(fields.DatetimeField):
    """``auto_now`` that leaves INSERTs alone: null until the first update, then stamped on
    every save of the instance (the contract's ``updated_at``; SQLAlchemy's ``onupdate``).

    Tortoise's own ``auto_now=True`` stamps the INSERT too, so a new row would not read null.
    An update must still name the field in ``update_fields`` (or save every field), as any
    ``auto_now`` field must. Like ``auto_now``, the time comes from Python's clock, which
    lets the instance know its value without reading it back.
    """

    def __init__(self, **kwargs: Any) -> None:
        # Always nullable; Tortoise's migration files rebuild the field with null=True.
        kwargs["null"] = True
        super().__init__(**kwargs)

    def to_db_value(self, value: Any, instance: Any) -> Any:
        if getattr(instance, "_saved_in_db", False):  # an UPDATE of a loaded instance
            value = timezone.now()
            setattr(instance, self.model_field_name, value)
        return super().to_db_value(value, instance)


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=255)
    username = fields.CharField(max_length=50)
    hashed_password = fields.CharField(max_length=255)
    # db_default: the INSERT leaves the column out and reads the value back with RETURNING,
    # in the same statement (SQLAlchemy's server_default with eager_defaults).
    is_active = fields.BooleanField(db_default=True)
    created_at = fields.DatetimeField(db_default=Now())
    updated_at: datetime | None = UpdatedAtField()

    tasks: fields.ReverseRelation["Task"]

    class Meta:
        table = "users"
        # Named as in the schema: crud maps a violation to a 409 by this name (errors.py).
        constraints = (
            UniqueConstraint(fields=("email",), name="uq_users_email"),
            UniqueConstraint(fields=("username",), name="uq_users_username"),
        )


class Task(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    completed = fields.BooleanField(db_default=False)
    priority = fields.IntField(db_default=0)
    # The database's ON DELETE CASCADE removes a user's tasks: Tortoise loads nothing first.
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tasks", on_delete=fields.CASCADE
    )
    user_id: int  # the column behind ``user``, readable without loading the user
    created_at = fields.DatetimeField(db_default=Now())
    updated_at: datetime | None = UpdatedAtField()

    class Meta:
        table = "tasks"
        constraints = (
            UniqueConstraint(fields=("user_id", "title"), name="uq_tasks_user_id_title"),
            CheckConstraint(check="priority BETWEEN 0 AND 5", name="ck_tasks_priority_range"),
        )
        indexes = (
            Index(fields=("user_id",), name="ix_tasks_user_id"),
            Index(fields=("user_id", "completed"), name="ix_tasks_user_id_completed"),
            Index(fields=("user_id", "priority"), name="ix_tasks_user_id_priority"),
            Index(
                fields=("user_id", "completed", "created_at"),
                name="ix_tasks_user_id_completed_created_at",
            ),
        )


# History of task transfers; it outlives the task and users it names (SET NULL). A comment,
# not a docstring: Tortoise would turn a docstring into a COMMENT ON TABLE in its migrations.
class TransferLog(Model):
    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    from_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    to_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(db_default=Now())

    class Meta:
        table = "transfer_logs"
