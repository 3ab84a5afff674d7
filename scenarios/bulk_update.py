"""Bulk update: change ``completed`` and ``priority`` on N existing tasks.

One UPDATE and one COMMIT per row is the baseline. The unit of work loads the entities,
sets attributes and flushes one UPDATE per changed row in one transaction.
``bulk_update_mappings`` is the legacy 1.x API; 2.0's ORM bulk UPDATE by primary key
(``update(Task)`` with a list of dicts) is an executemany; Tortoise's ``bulk_update`` writes
one ``UPDATE ... CASE`` per batch; the floor sends every new value in arrays and updates all
rows in one ``UPDATE ... FROM unnest(...)``.
"""

from typing import Any

from scenarios import Op, Variants, check, seed

PARAMS = {
    "quick": [{"rows": 1000}],
    "standard": [{"rows": 10_000}],
    "full": [{"rows": 100_000}],
}
VARIANTS = Variants()
FLOOR = {"bulk_update_tasks": "unnest"}
USER_ID = 1  # every call updates all tasks of the first user


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, 1, params["rows"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    # Every call writes values that differ from the previous call's, so no UPDATE is a no-op.
    start = data.setdefault("calls", 0)
    data["calls"] += count
    return [
        {
            "items": [
                {
                    "id": task_id,
                    "completed": (task_id + call) % 2 == 0,
                    "priority": (task_id + call) % 6,
                }
                for task_id in range(1, params["rows"] + 1)
            ]
        }
        for call in range(start, start + count)
    ]


@VARIANTS.add("bulk_update_tasks", "row_per_commit")
def row_per_commit(port: Any, op: Op) -> Any:
    """one UPDATE and one COMMIT per row"""
    return port.bulk_update_tasks(op["items"], how="row_per_commit")


@VARIANTS.add("bulk_update_tasks", "unit_of_work")
def unit_of_work(port: Any, op: Op) -> Any:
    """load entities, set attributes, one commit"""
    return port.bulk_update_tasks(op["items"], how="unit_of_work")


@VARIANTS.add("bulk_update_tasks", "bulk_update_mappings")
def bulk_update_mappings(port: Any, op: Op) -> Any:
    """legacy: Session.bulk_update_mappings"""
    return port.bulk_update_tasks(op["items"], how="bulk_update_mappings")


@VARIANTS.add("bulk_update_tasks", "update_dicts")
def update_dicts(port: Any, op: Op) -> Any:
    """2.0 update() with a list of dicts (by primary key)"""
    return port.bulk_update_tasks(op["items"], how="update_dicts")


@VARIANTS.add("bulk_update_tasks", "bulk_update")
def bulk_update(port: Any, op: Op) -> Any:
    """Tortoise bulk_update"""
    return port.bulk_update_tasks(op["items"], how="bulk_update")


@VARIANTS.add("bulk_update_tasks", "executemany")
def executemany(port: Any, op: Op) -> Any:
    """driver executemany"""
    return port.bulk_update_tasks(op["items"], how="executemany")


@VARIANTS.add("bulk_update_tasks", "unnest")
def unnest(port: Any, op: Op) -> Any:
    """one UPDATE ... FROM unnest(arrays) (floor)"""
    return port.bulk_update_tasks(op["items"], how="unnest")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    check(result == len(op["items"]), f"reported {result} rows updated, not {len(op['items'])}")
    stored = db.all(
        "SELECT id, completed, priority FROM tasks WHERE user_id = %s ORDER BY id", (USER_ID,)
    )
    check(stored == op["items"], "stored values differ from the update sent")


def rows(variant: str, result: Any) -> int:
    return int(result)
