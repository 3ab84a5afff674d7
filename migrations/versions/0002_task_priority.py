"""Tasks get a priority: the seed's manual migration, column and index together.

Existing rows take the server default (0), so the column can be NOT NULL at once; the
downgrade drops the index before the column it covers. The index leads with user_id because
every priority query is one user's tasks (``priority_min``, ``sort_by=priority``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:00:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.create_index(op.f("ix_tasks_user_id_priority"), "tasks", ["user_id", "priority"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tasks_user_id_priority"), table_name="tasks")
    op.drop_column("tasks", "priority")
