"""Rules into the database (priority 0..5, one title per user), listing indexes, transfer_logs.

The constraints carry the names the apps map to their 409s; adding them fails on a database
whose rows already break them, which is the point. ``transfer_logs`` keys are ON DELETE SET
NULL, so the history outlives the task and users it names.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:00:02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint(op.f("ck_tasks_priority_range"), "tasks", "priority BETWEEN 0 AND 5")
    op.create_unique_constraint(op.f("uq_tasks_user_id_title"), "tasks", ["user_id", "title"])
    op.create_index(op.f("ix_tasks_user_id_completed"), "tasks", ["user_id", "completed"])
    op.create_index(
        op.f("ix_tasks_user_id_completed_created_at"),
        "tasks",
        ["user_id", "completed", "created_at"],
    )
    op.create_table(
        "transfer_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("from_user_id", sa.Integer(), nullable=True),
        sa.Column("to_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_transfer_logs_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"],
            ["users.id"],
            name=op.f("fk_transfer_logs_from_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"],
            ["users.id"],
            name=op.f("fk_transfer_logs_to_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_logs")),
    )


def downgrade() -> None:
    op.drop_table("transfer_logs")
    op.drop_index(op.f("ix_tasks_user_id_completed_created_at"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_user_id_completed"), table_name="tasks")
    op.drop_constraint(op.f("uq_tasks_user_id_title"), "tasks", type_="unique")
    op.drop_constraint(op.f("ck_tasks_priority_range"), "tasks", type_="check")
