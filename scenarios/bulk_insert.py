"""Bulk insert: N new tasks for one user, from one row per commit to COPY.

One INSERT and one COMMIT per row pays a round trip and a transaction per row. Adding all
objects and committing once lets the ORM batch them; SQLAlchemy 2.x's ``insert()`` with a
list of dicts skips the objects and sends multi-row INSERTs (1000 rows each, "insertmanyvalues"),
as psycopg2's ``execute_values`` does by hand.
``bulk_save_objects`` is the legacy 1.x API, kept here, labelled, to show what moving off it
buys. Tortoise's ``bulk_create`` and the drivers' ``executemany`` send one execution per row;
COPY streams every row in one statement and is the floor.
"""

from typing import Any

from scenarios import Op, Variants, check, seed

PARAMS = {
    "quick": [{"rows": 1000}],
    "standard": [{"rows": 10_000}],
    "full": [{"rows": 100_000}],
}
VARIANTS = Variants()
FLOOR = {"bulk_insert_tasks": "copy"}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, 10, 10)


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    # A fresh user per call: every call inserts the same titles without a unique clash.
    return [
        {"user_id": user_id, "rows": task_rows(params["rows"])}
        for user_id in seed.new_users(db, "bulk", count)
    ]


def after(db: seed.Database, data: dict[str, Any], ops: list[Op]) -> None:
    # Keep the table the same size for every variant: what one inserted, the next does not see.
    db.execute("DELETE FROM users WHERE id = ANY(%s)", ([op["user_id"] for op in ops],))


def task_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "title": f"bulk {i:06d}",
            "description": None if i % 3 == 0 else f"bulk task number {i}",
            "priority": i % 6,
            "completed": i % 4 == 0,
        }
        for i in range(count)
    ]


@VARIANTS.add("bulk_insert_tasks", "row_per_commit")
def row_per_commit(port: Any, op: Op) -> Any:
    """one INSERT and one COMMIT per row"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="row_per_commit")


@VARIANTS.add("bulk_insert_tasks", "add_all")
def add_all(port: Any, op: Op) -> Any:
    """ORM objects, add_all and one commit"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="add_all")


@VARIANTS.add("bulk_insert_tasks", "bulk_save_objects")
def bulk_save_objects(port: Any, op: Op) -> Any:
    """legacy: Session.bulk_save_objects"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="bulk_save_objects")


@VARIANTS.add("bulk_insert_tasks", "insert_dicts")
def insert_dicts(port: Any, op: Op) -> Any:
    """2.0 insert() with a list of dicts"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="insert_dicts")


@VARIANTS.add("bulk_insert_tasks", "bulk_create")
def bulk_create(port: Any, op: Op) -> Any:
    """Tortoise bulk_create"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="bulk_create")


@VARIANTS.add("bulk_insert_tasks", "executemany")
def executemany(port: Any, op: Op) -> Any:
    """driver executemany"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="executemany")


@VARIANTS.add("bulk_insert_tasks", "execute_values")
def execute_values(port: Any, op: Op) -> Any:
    """psycopg2 execute_values: multi-row INSERT, 1000 rows per statement"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="execute_values")


@VARIANTS.add("bulk_insert_tasks", "copy")
def copy(port: Any, op: Op) -> Any:
    """COPY (floor)"""
    return port.bulk_insert_tasks(op["user_id"], op["rows"], how="copy")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    check(result == len(op["rows"]), f"reported {result} rows inserted, not {len(op['rows'])}")
    written = db.all(
        "SELECT title, description, priority, completed FROM tasks WHERE user_id = %s "
        "ORDER BY title",
        (op["user_id"],),
    )
    check(written == sorted(op["rows"], key=lambda r: r["title"]), "rows differ from the input")


def rows(variant: str, result: Any) -> int:
    return int(result)
