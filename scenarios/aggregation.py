"""Aggregation: a user's task statistics, in SQL or by loading the rows into Python.

The API's stats are one query (COUNT, COUNT FILTER, AVG, with a LEFT JOIN so a user without
tasks still answers). The naive way loads every task of the user and counts in Python:
correct, but it ships every row over the wire and builds an object per row, so its cost
grows with the number of tasks while the SQL aggregate's barely moves.
"""

from typing import Any

from scenarios import Op, Variants, check, seed, shapes

PARAMS = {
    "quick": [{"users": 20, "tasks_per_user": t} for t in (10, 1000)],
    "standard": [{"users": 20, "tasks_per_user": t} for t in (10, 1000, 10_000)],
    "full": [{"users": 20, "tasks_per_user": t} for t in (10, 1000, 50_000)],
}
VARIANTS = Variants()
FLOOR = {"user_stats": "in_sql"}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, params["users"], params["tasks_per_user"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    return [{"user_id": 1 + i % data["users"]} for i in range(count)]


@VARIANTS.add("user_stats", "python")
def in_python(port: Any, op: Op) -> Any:
    """load the tasks, count and average in Python"""
    return port.user_stats(op["user_id"], how="python")


@VARIANTS.add("user_stats", "sql")
def in_sql(port: Any, op: Op) -> Any:
    """COUNT / AVG in one SQL query (the API's way)"""
    return port.user_stats(op["user_id"], how="sql")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    expected = db.all(
        "SELECT count(*) AS total, count(*) FILTER (WHERE completed) AS completed, "
        "COALESCE(avg(priority), 0)::float8 AS avg_priority FROM tasks WHERE user_id = %s",
        (op["user_id"],),
    )[0]
    got = shapes.plain(result, ("total", "completed", "pending", "avg_priority"))
    check(got["total"] == expected["total"], f"total {got['total']} != {expected['total']}")
    check(got["completed"] == expected["completed"], "completed count differs")
    check(got["pending"] == expected["total"] - expected["completed"], "pending count differs")
    check(abs(got["avg_priority"] - expected["avg_priority"]) < 1e-9, "average differs")


def rows(variant: str, result: Any) -> int:
    # Rows the database sent: every task for the Python way, one summary row for SQL's.
    return shapes.field(result, "total") if variant == "in_python" else 1
