"""The declarative models of the sync implementation, re-exported unchanged.

One set of mapped classes serves a Session and an AsyncSession: a mapping describes tables
and relationships, not how the session talks to the database. What async changes is
loading, not mapping: an attribute must never load itself lazily, so every query in
``crud.py`` says what it loads (``selectinload``) and forbids the rest (``raiseload``).
"""

from implementations.sync_sqlalchemy.models import Base, Task, TransferLog, User

__all__ = ["Base", "Task", "TransferLog", "User"]
