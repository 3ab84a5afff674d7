"""The index sets the ``indexing`` scenario compares, and how they are put on ``tasks``.

Every set is a complete list of the secondary indexes ``tasks`` has besides its primary key
(the unique constraint ``uq_tasks_user_id_title`` included, since its index leads with
``user_id`` and the planner would use it). The scenario applies a set in a database of its
own (the runner makes one for it), never through the migrations: ``strip`` drops every
secondary index of ``tasks``, the seed loads the rows into the bare table, and ``build``
creates the set's indexes, each timed, then VACUUM ANALYZE sets the visibility map an Index
Only Scan needs and the statistics the planner reads.

Each index says why it is there; the docs' table (docs/indexing.md) shows how SQLAlchemy and
Tortoise declare it and whether their migration tools reproduce it (``index_declarations``).
"""

import time
from dataclasses import dataclass, field
from typing import Any

from scenarios.seed import Database


@dataclass(frozen=True)
class IndexDef:
    name: str
    # What follows "ON tasks" in CREATE INDEX: the key, then INCLUDE and WHERE if any.
    keys: tuple[str, ...]
    reason: str
    include: tuple[str, ...] = ()
    where: str | None = None
    unique_constraint: bool = False  # added as a constraint (it has a name the apps map)
    # How each ORM's models declare it (the plain form when left out), as the docs' table
    # shows them and benchmarks/index_tools.py gives them to the migration tools.
    sqlalchemy: str = ""
    tortoise: str = ""

    def __post_init__(self) -> None:
        plain = all(key.isidentifier() for key in self.keys)
        if not self.sqlalchemy and plain:
            columns = ", ".join(f"Task.{key}" for key in self.keys)
            object.__setattr__(self, "sqlalchemy", f'Index("{self.name}", {columns})')
        if not self.tortoise and plain:
            fields = ", ".join(f'"{key}"' for key in self.keys) + (
                "," if len(self.keys) == 1 else ""
            )
            object.__setattr__(self, "tortoise", f'Index(fields=({fields}), name="{self.name}")')

    @property
    def ddl(self) -> str:
        if self.unique_constraint:
            return f"ALTER TABLE tasks ADD CONSTRAINT {self.name} UNIQUE ({', '.join(self.keys)})"
        sql = f"CREATE INDEX {self.name} ON tasks ({', '.join(self.keys)})"
        if self.include:
            sql += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            sql += f" WHERE {self.where}"
        return sql


@dataclass(frozen=True)
class IndexSet:
    name: str
    label: str
    reason: str
    indexes: tuple[IndexDef, ...] = field(default=())


UNIQUE_TITLE = IndexDef(
    "uq_tasks_user_id_title",
    ("user_id", "title"),
    "the rule: one title per user (its name is the 409 the apps map)",
    unique_constraint=True,
    sqlalchemy='UniqueConstraint("user_id", "title")  # named by the naming convention',
    tortoise='UniqueConstraint(fields=("user_id", "title"), name="uq_tasks_user_id_title")',
)
# The migrations' four (revisions 0001-0003).
USER_ID = IndexDef(
    "ix_tasks_user_id", ("user_id",), "a user's tasks: the cascade of a user's delete, the stats"
)
USER_PRIORITY = IndexDef(
    "ix_tasks_user_id_priority", ("user_id", "priority"), "priority_min and sort_by=priority"
)
USER_COMPLETED = IndexDef(
    "ix_tasks_user_id_completed", ("user_id", "completed"), "the completed filter"
)
USER_COMPLETED_CREATED = IndexDef(
    "ix_tasks_user_id_completed_created_at",
    ("user_id", "completed", "created_at"),
    "the completed filter, sorted by created_at",
)

SETS = {
    "pk_only": IndexSet(
        "pk_only",
        "primary keys only",
        "nothing but pk_tasks and pk_users: every task lookup by user reads the whole table "
        "(the unique constraint is dropped too: its (user_id, title) index would serve it)",
    ),
    "single_column": IndexSet(
        "single_column",
        "single-column",
        "one index per column the queries filter or sort on, the habit of `index=True` on "
        "each field: the planner can use one of them, or AND two bitmaps",
        (
            USER_ID,
            IndexDef("ix_tasks_completed", ("completed",), "the completed filter"),
            IndexDef("ix_tasks_priority", ("priority",), "the priority filter and sort"),
            IndexDef("ix_tasks_created_at", ("created_at",), "the default sort"),
            IndexDef("ix_tasks_title", ("title",), "the sort by title"),
        ),
    ),
    "migrations": IndexSet(
        "migrations",
        "the migrations' (the seed's)",
        "what migrations/versions builds: user_id alone, (user_id, priority), "
        "(user_id, completed), (user_id, completed, created_at) and the unique constraint",
        (UNIQUE_TITLE, USER_ID, USER_PRIORITY, USER_COMPLETED, USER_COMPLETED_CREATED),
    ),
    "covering": IndexSet(
        "covering",
        "better: whole ORDER BY, covering",
        "one index per listing whose keys end with the listing's whole ORDER BY (its id "
        "tie-break included), so a LIMIT stops after its page with no Sort; the first also "
        "INCLUDEs priority, so the stats aggregate reads the index alone; they lead with "
        "user_id, so the cascade and every by-user lookup use them and the migrations' "
        "prefixes (user_id), (user_id, completed) go",
        (
            UNIQUE_TITLE,
            IndexDef(
                "ix_tasks_user_id_completed_created_at_id",
                ("user_id", "completed", "created_at", "id"),
                "the completed filter in ORDER BY created_at DESC, id DESC (read backwards); "
                "with priority included it holds every column the stats read",
                include=("priority",),
                sqlalchemy=(
                    'Index("ix_tasks_user_id_completed_created_at_id", Task.user_id, '
                    'Task.completed, Task.created_at, Task.id, postgresql_include=["priority"])'
                ),
                # Tortoise's Index has no INCLUDE: the closest it can declare.
                tortoise=(
                    'Index(fields=("user_id", "completed", "created_at", "id"), '
                    'name="ix_tasks_user_id_completed_created_at_id")'
                ),
            ),
            IndexDef(
                "ix_tasks_user_id_priority_desc_id",
                ("user_id", "priority DESC", "id"),
                "ORDER BY priority DESC, id exactly, priority_min as a range on it",
                sqlalchemy=(
                    'Index("ix_tasks_user_id_priority_desc_id", Task.user_id, '
                    "Task.priority.desc(), Task.id)"
                ),
                tortoise=(
                    'Index(RawSQL("user_id"), RawSQL("priority DESC"), RawSQL("id"), '
                    'name="ix_tasks_user_id_priority_desc_id")'
                ),
            ),
            IndexDef(
                "ix_tasks_user_id_title_c_id",
                ("user_id", 'title COLLATE "C"', "id"),
                'ORDER BY title COLLATE "C", id as the implementations sort: the unique '
                "constraint's (user_id, title) has the column's collation, so it cannot",
                sqlalchemy=(
                    'Index("ix_tasks_user_id_title_c_id", Task.user_id, '
                    'Task.title.collate("C"), Task.id)'
                ),
                tortoise=(
                    """Index(RawSQL("user_id"), RawSQL('title COLLATE "C"'), RawSQL("id"), """
                    'name="ix_tasks_user_id_title_c_id")'
                ),
            ),
        ),
    ),
    "partial": IndexSet(
        "partial",
        "better: partial on open tasks",
        "the migrations' set with the two completed composites replaced by one index of the "
        "open tasks only (WHERE NOT completed): smaller, and exact for the listing of open "
        "tasks, but only a plan that sees the literal false can use it",
        (
            UNIQUE_TITLE,
            USER_ID,
            USER_PRIORITY,
            IndexDef(
                "ix_tasks_open_user_id_created_at_id",
                ("user_id", "created_at", "id"),
                "open tasks in ORDER BY created_at DESC, id DESC; 60% of the rows",
                where="NOT completed",
                sqlalchemy=(
                    'Index("ix_tasks_open_user_id_created_at_id", Task.user_id, '
                    "Task.created_at, Task.id, postgresql_where=~Task.completed)"
                ),
                tortoise=(
                    'PartialIndex(fields=("user_id", "created_at", "id"), '
                    'name="ix_tasks_open_user_id_created_at_id", condition={"completed": False})'
                ),
            ),
        ),
    ),
}


def distinct_indexes() -> list[tuple[IndexDef, list[str]]]:
    """Every index of the sets once, with the sets it is in (in the sets' order)."""
    found: dict[str, tuple[IndexDef, list[str]]] = {}
    for index_set in SETS.values():
        for index in index_set.indexes:
            found.setdefault(index.name, (index, []))[1].append(index_set.name)
    return list(found.values())


def strip(db: Database) -> None:
    """Drop every index of ``tasks`` but its primary key (constraints by constraint)."""
    if not db.own:
        raise RuntimeError(
            "index sets are applied only in a database made for the scenario (the runner "
            "gives one to a scenario with OWN_DATABASE = True), never in a shared one"
        )
    rows = db.all(
        "SELECT i.indexrelid::regclass::text AS name, c.conname "
        "FROM pg_index AS i LEFT JOIN pg_constraint AS c ON c.conindid = i.indexrelid "
        "WHERE i.indrelid = 'tasks'::regclass AND NOT i.indisprimary"
    )
    for row in rows:
        if row["conname"]:
            db.execute(f'ALTER TABLE tasks DROP CONSTRAINT "{row["conname"]}"')
        else:
            db.execute(f'DROP INDEX "{row["name"]}"')


def build(db: Database, index_set: IndexSet) -> dict[str, Any]:
    """Create the set's indexes on the loaded table, then VACUUM ANALYZE; what it cost."""
    built = []
    for index in index_set.indexes:
        started = time.perf_counter()
        db.execute(index.ddl)
        built.append({"name": index.name, "build_s": time.perf_counter() - started})
    started = time.perf_counter()
    db.execute("VACUUM ANALYZE tasks")
    db.execute("VACUUM ANALYZE users")
    vacuum_s = time.perf_counter() - started
    return {"indexes": built, "vacuum_s": vacuum_s}


def sizes(db: Database) -> dict[str, int]:
    """Bytes on disk: the table's heap and each of its indexes, the primary key included."""
    rows = db.all(
        "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes "
        "FROM pg_index WHERE indrelid = 'tasks'::regclass ORDER BY 1"
    )
    return {"tasks": db.value("SELECT pg_relation_size('tasks')")} | {
        row["name"]: row["bytes"] for row in rows
    }
