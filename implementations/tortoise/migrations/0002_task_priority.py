"""Tasks get a priority, with its index (Alembic's 0002)."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [
        ops.AddField("Task", "priority", fields.IntField(db_default=0)),
        ops.AddIndex(
            "Task", Index(fields=["user_id", "priority"], name="ix_tasks_user_id_priority")
        ),
    ]
