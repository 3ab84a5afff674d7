"""Priority 0..5, one title per user, the listing indexes, transfer history (Alembic's 0003)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.db_defaults import Now
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint


def _set_null_key(model: str, column: str) -> fields.ForeignKeyField:
    return fields.ForeignKeyField(
        model,
        source_field=column,
        null=True,
        db_constraint=True,
        to_field="id",
        related_name=False,
        on_delete=OnDelete.SET_NULL,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0002_task_priority")]

    operations = [
        ops.AddConstraint(
            "Task",
            CheckConstraint(check="priority BETWEEN 0 AND 5", name="ck_tasks_priority_range"),
        ),
        ops.AddConstraint(
            "Task", UniqueConstraint(fields=("user_id", "title"), name="uq_tasks_user_id_title")
        ),
        ops.AddIndex(
            "Task", Index(fields=["user_id", "completed"], name="ix_tasks_user_id_completed")
        ),
        ops.AddIndex(
            "Task",
            Index(
                fields=["user_id", "completed", "created_at"],
                name="ix_tasks_user_id_completed_created_at",
            ),
        ),
        ops.CreateModel(
            name="TransferLog",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("task", _set_null_key("models.Task", "task_id")),
                ("from_user", _set_null_key("models.User", "from_user_id")),
                ("to_user", _set_null_key("models.User", "to_user_id")),
                ("created_at", fields.DatetimeField(db_default=Now())),
            ],
            options={"table": "transfer_logs", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
