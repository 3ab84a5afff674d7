"""Transactions: the task transfer with its log row, and a savepoint rolled back inside a
transaction that commits.

The transfer checks both users, locks the task the sender owns, moves it and writes a
transfer log row: all or nothing. The savepoint case inserts a task, then tries a second
insert that violates the unique title inside a savepoint, rolls back to it, and commits the
first: nested transactions as each library spells them (``begin_nested``, nested
``in_transaction``, ``SAVEPOINT``).
"""

from typing import Any

from scenarios import Op, Variants, check, seed, shapes

PARAMS = {
    "quick": [{"users": 20, "tasks_per_user": 50}],
    "standard": [{"users": 100, "tasks_per_user": 100}],
    "full": [{"users": 1000, "tasks_per_user": 100}],
}
VARIANTS = Variants()
FLOOR = {"transfer_task": "transfer", "savepoint": "savepoint"}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    data = seed.users_and_tasks(db, params["users"], params["tasks_per_user"])
    # Titles unique across users, so a transfer never meets a title clash at the receiver.
    db.execute("UPDATE tasks SET title = title || ' #' || id")
    return data


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    start = data.setdefault("calls", 0)
    data["calls"] += count
    owned = db.all(
        "SELECT id, user_id, (SELECT title FROM tasks f WHERE f.user_id = t.user_id "
        "ORDER BY id LIMIT 1) AS taken FROM tasks t ORDER BY id OFFSET %s LIMIT %s",
        ((start * 37) % max(data["tasks"] - count, 1), count),
    )
    return [
        {
            "task_id": row["id"],
            "from_user_id": row["user_id"],
            "to_user_id": row["user_id"] % data["users"] + 1,
            "kept": f"kept {start + i}",
            "dropped": row["taken"],
        }
        for i, row in enumerate(owned)
    ]


@VARIANTS.add("transfer_task", "api")
def transfer(port: Any, op: Op) -> Any:
    """transfer a task and log it, in one transaction"""
    return port.transfer_task(op["task_id"], op["from_user_id"], op["to_user_id"], how="api")


@VARIANTS.add("savepoint", "api")
def savepoint(port: Any, op: Op) -> Any:
    """insert, fail a second insert in a savepoint, roll it back, commit"""
    return port.savepoint(op["from_user_id"], op["kept"], op["dropped"], how="api")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    got = shapes.task(result)
    stored = db.all(
        "SELECT id, title, description, completed, priority, user_id FROM tasks WHERE id = %s",
        (got["id"],),
    )
    check(stored == [got], f"returned {got}, stored {stored}")
    if variant == "transfer":
        check(got["id"] == op["task_id"], f"moved task {got['id']}, not {op['task_id']}")
        check(got["user_id"] == op["to_user_id"], "the task did not change hands")
        logs = db.value(
            "SELECT count(*) FROM transfer_logs WHERE task_id = %s AND from_user_id = %s "
            "AND to_user_id = %s",
            (op["task_id"], op["from_user_id"], op["to_user_id"]),
        )
        check(logs >= 1, "no transfer log row")
    else:
        check(got["title"] == op["kept"], f"kept task titled {got['title']!r}")
        check(got["user_id"] == op["from_user_id"], "the kept task belongs to another user")
        kept, dropped = db.all(
            "SELECT count(*) FILTER (WHERE title = %s) AS kept, "
            "count(*) FILTER (WHERE title = %s) AS dropped FROM tasks WHERE user_id = %s",
            (op["kept"], op["dropped"], op["from_user_id"]),
        )[0].values()
        # That the second insert was attempted and rolled back is what its statement count
        # (2) shows; here, that it left nothing behind and did not undo the first.
        check(kept == 1, "the task inserted before the savepoint was not committed")
        check(dropped == 1, "the rolled-back insert left a row behind")


def rows(variant: str, result: Any) -> int:
    return 1
