"""Users and their tasks, before tasks had a priority (Alembic's 0001)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.db_defaults import Now
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from implementations.tortoise.models import UpdatedAtField


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("email", fields.CharField(max_length=255)),
                ("username", fields.CharField(max_length=50)),
                ("hashed_password", fields.CharField(max_length=255)),
                ("is_active", fields.BooleanField(db_default=True)),
                ("created_at", fields.DatetimeField(db_default=Now())),
                ("updated_at", UpdatedAtField(null=True)),
            ],
            options={"table": "users", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        # Not in CreateModel's options: Tortoise 1.1.9 records Meta.constraints there but does
        # not create them (tortoise-orm issue 2272), so each is its own operation.
        ops.AddConstraint("User", UniqueConstraint(fields=("email",), name="uq_users_email")),
        ops.AddConstraint("User", UniqueConstraint(fields=("username",), name="uq_users_username")),
        ops.CreateModel(
            name="Task",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("title", fields.CharField(max_length=255)),
                ("description", fields.TextField(null=True, unique=False)),
                ("completed", fields.BooleanField(db_default=False)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tasks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(db_default=Now())),
                ("updated_at", UpdatedAtField(null=True)),
            ],
            options={
                "table": "tasks",
                "app": "models",
                "indexes": [Index(fields=["user_id"], name="ix_tasks_user_id")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
