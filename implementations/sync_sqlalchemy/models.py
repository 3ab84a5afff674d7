"""The declarative models: the schema of docs/schema.md in SQLAlchemy 2.x style.

The async implementation uses these same classes: one set of models serves a Session and
an AsyncSession.
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Fixed constraint names: the apps map a violated constraint to a 409/404 by its name
# (contract/errors.py), and migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# AsyncAttrs adds only ``obj.awaitable_attrs``: an AsyncSession's explicit, awaited form of a
# lazy load (``await user.awaitable_attrs.tasks``); a sync Session never needs it.
class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Fetch server-generated values (created_at on INSERT, updated_at on UPDATE) with
    # RETURNING in the same statement, instead of expiring them and SELECTing again later.
    __mapper_args__ = {"eager_defaults": True}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), onupdate=func.now()
    )

    # passive_deletes: the database's ON DELETE CASCADE removes the tasks; without it the
    # ORM would load every task first just to delete it.
    tasks: Mapped[list["Task"]] = relationship(
        back_populates="user", order_by="Task.id", passive_deletes=True
    )


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("user_id", "title"),
        CheckConstraint("priority BETWEEN 0 AND 5", name="priority_range"),
        Index(None, "user_id", "completed"),
        Index(None, "user_id", "priority"),
        Index(None, "user_id", "completed", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(server_default="false")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), onupdate=func.now()
    )

    user: Mapped[User] = relationship(back_populates="tasks")


class TransferLog(Base):
    """History of task transfers; it outlives the task and users it names (SET NULL)."""

    __tablename__ = "transfer_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
