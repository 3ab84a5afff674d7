"""Filtering and sorting: the API's task listing, and a deep page by OFFSET or by keyset.

The listing is the seed's query: one user's open tasks of priority 2 or more, highest
priority first, 20 per page, served by the (user_id, priority) index. The deep page walks
all tasks by id: OFFSET makes PostgreSQL produce and throw away every row before the page,
so its cost grows with the depth; a keyset (``WHERE id > last_seen``) jumps straight there
through the primary key, at the price of only "next page" navigation.
"""

from typing import Any

from scenarios import Op, Variants, check, seed, shapes

PARAMS = {
    "quick": [{"users": 100, "tasks_per_user": 10, "depth": 0.9}],
    "standard": [{"users": 1000, "tasks_per_user": 20, "depth": d} for d in (0.0, 0.9)],
    "full": [{"users": 10000, "tasks_per_user": 100, "depth": d} for d in (0.0, 0.9)],
}
VARIANTS = Variants()
FLOOR = {"list_tasks": "listing", "tasks_page": "keyset"}
PAGE = 20
LISTING = {"completed": False, "priority_min": 2, "sort_by": "priority", "skip": 0, "limit": PAGE}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, params["users"], params["tasks_per_user"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    start = int(data["tasks"] * params["depth"])
    start = min(start, data["tasks"] - PAGE)
    return [
        {"user_id": 1 + (i * 7919) % data["users"], "offset": start, "after_id": start}
        for i in range(count)
    ]


@VARIANTS.add("list_tasks", "api")
def listing(port: Any, op: Op) -> Any:
    """open tasks, priority >= 2, highest first, 20 (the API's listing)"""
    return port.list_tasks(op["user_id"], how="api", **LISTING)


@VARIANTS.add("tasks_page", "offset")
def offset(port: Any, op: Op) -> Any:
    """page of 20 by id: OFFSET"""
    return port.tasks_page(PAGE, how="offset", offset=op["offset"])


@VARIANTS.add("tasks_page", "keyset")
def keyset(port: Any, op: Op) -> Any:
    """page of 20 by id: keyset (WHERE id > last seen)"""
    return port.tasks_page(PAGE, how="keyset", after_id=op["after_id"])


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    got = [shapes.task(row) for row in result]
    if variant == "listing":
        expected = db.all(
            "SELECT id, title, description, completed, priority, user_id FROM tasks "
            "WHERE user_id = %s AND NOT completed AND priority >= 2 "
            "ORDER BY priority DESC, id LIMIT %s",
            (op["user_id"], PAGE),
        )
        check(got == expected, f"listing for user {op['user_id']} differs from the reference")
    else:
        expected = db.all(
            "SELECT id, title, description, completed, priority, user_id FROM tasks "
            "WHERE id > %s ORDER BY id LIMIT %s",
            (op["after_id"], PAGE),
        )
        check(got == expected, f"page after id {op['after_id']} differs from the stored tasks")


def rows(variant: str, result: Any) -> int:
    return len(result)
