"""Eager loading: N users with their tasks, and the N+1 that lazy loading costs.

The naive loop loads the users, then each user's tasks when it is touched: one query per
user, N + 1 in all, each a round trip. The async ORMs refuse implicit lazy loads (a lazy
load would be hidden IO), so their naive form is the same loop written out: an explicit
await per parent. ``joinedload`` fetches everything in one LEFT JOIN (users repeated once
per task); ``selectinload`` and Tortoise's ``prefetch_related`` send a second query with
``IN (...)`` for all the tasks; the floor is one hand-written JOIN.
"""

from typing import Any

from scenarios import Op, Variants, check, seed, shapes

PARAMS = {
    "quick": [{"n": 10, "tasks_per_user": 10}, {"n": 100, "tasks_per_user": 10}],
    "standard": [{"n": n, "tasks_per_user": 20} for n in (10, 100, 1000)],
    "full": [{"n": n, "tasks_per_user": 20} for n in (10, 100, 1000, 10000)],
}
VARIANTS = Variants()
FLOOR = {"users_with_tasks": "join"}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, params["n"], params["tasks_per_user"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    return [{"n": params["n"]}] * count


@VARIANTS.add("users_with_tasks", "lazy")
def lazy(port: Any, op: Op) -> Any:
    """lazy loading in a loop: one query per user (N+1)"""
    return port.users_with_tasks(op["n"], how="lazy")


@VARIANTS.add("users_with_tasks", "joined")
def joined(port: Any, op: Op) -> Any:
    """joinedload: one LEFT JOIN"""
    return port.users_with_tasks(op["n"], how="joined")


@VARIANTS.add("users_with_tasks", "selectin")
def selectin(port: Any, op: Op) -> Any:
    """selectinload: users, then tasks WHERE user_id IN (...)"""
    return port.users_with_tasks(op["n"], how="selectin")


@VARIANTS.add("users_with_tasks", "prefetch")
def prefetch(port: Any, op: Op) -> Any:
    """prefetch_related: users, then tasks WHERE user_id IN (...)"""
    return port.users_with_tasks(op["n"], how="prefetch")


@VARIANTS.add("users_with_tasks", "join")
def join(port: Any, op: Op) -> Any:
    """hand-written LEFT JOIN (floor)"""
    return port.users_with_tasks(op["n"], how="join")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    users = [shapes.user_with_tasks(user) for user in result]
    check([u["id"] for u in users] == list(range(1, op["n"] + 1)), "not the first N users by id")
    per_user = data["tasks"] // data["users"]
    for user in users:
        ids = [t["id"] for t in user["tasks"]]
        first = (user["id"] - 1) * per_user + 1
        check(ids == list(range(first, first + per_user)), f"user {user['id']}: tasks {ids[:3]}...")
        check(all(t["user_id"] == user["id"] for t in user["tasks"]), "a task of another user")


def rows(variant: str, result: Any) -> int:
    return sum(1 + len(shapes.field(user, "tasks")) for user in result)
