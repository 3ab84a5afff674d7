"""CRUD, one row at a time: get by id, a page of users, create, update, delete.

Get by id is where an ORM's fixed cost per call shows most plainly: one indexed row, so
nearly all the time is the round trip plus what the library does around it. The get
variants run from the full entity to the cheapest read each ORM offers (columns only, no
identity map), so the spread within one ORM is visible, not only the spread between ORMs.
Create, update and delete are the API's own code (``crud.py``). Password hashing is set to
Argon2id's minimum cost here (t=1, 8 KiB) so that create measures the database work, not the
KDF; the API's default cost is far higher on purpose.
"""

from typing import Any

from implementations.contract import schemas
from scenarios import Op, Variants, check, seed, shapes

PARAMS = {
    "quick": [{"users": 100, "tasks_per_user": 10}],
    "standard": [{"users": 1000, "tasks_per_user": 20}],
    "full": [{"users": 10000, "tasks_per_user": 100}],
}
VARIANTS = Variants()
FLOOR = {
    "get_user": "get_by_sql",
    "list_users": "list_by_sql",
    "create_user": "create",
    "update_user": "update",
    "delete_user": "delete",
}
PAGE = 100


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, params["users"], params["tasks_per_user"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    users = params["users"]
    # Calls that consume a row (delete) get a fresh one each; reads spread over the seed.
    doomed = seed.new_users(db, "doomed", count)
    numbers = range(data.setdefault("created", 0), data["created"] + count)
    data["created"] += count
    return [
        {
            "user_id": 1 + (i * 7919) % users,
            "skip": (i * 31) % max(users - PAGE, 1),
            "new_user": schemas.UserCreate(
                email=f"new{n}@example.com", username=f"new{n}", password="benchmark-password"
            ),
            "change": schemas.UserUpdate(is_active=i % 2 == 0),
            "doomed_id": doomed[i],
        }
        for i, n in enumerate(numbers)
    ]


# --- get by id: naive to cheapest ------------------------------------------------------


@VARIANTS.add("get_user", "legacy_query")
def get_legacy_query(port: Any, op: Op) -> Any:
    """get by id: legacy session.query(User) (1.x style)"""
    return port.get_user(op["user_id"], how="legacy_query")


@VARIANTS.add("get_user", "entity")
def get_entity(port: Any, op: Op) -> Any:
    """get by id: ORM entity"""
    return port.get_user(op["user_id"], how="entity")


@VARIANTS.add("get_user", "columns")
def get_columns(port: Any, op: Op) -> Any:
    """get by id: selected columns, no entity"""
    return port.get_user(op["user_id"], how="columns")


@VARIANTS.add("get_user", "sql")
def get_by_sql(port: Any, op: Op) -> Any:
    """get by id: hand-written SQL (floor)"""
    return port.get_user(op["user_id"], how="sql")


# --- a page of users --------------------------------------------------------------------


@VARIANTS.add("list_users", "entity")
def list_entities(port: Any, op: Op) -> Any:
    """list 100 users: ORM entities"""
    return port.list_users(op["skip"], PAGE, how="entity")


@VARIANTS.add("list_users", "columns")
def list_columns(port: Any, op: Op) -> Any:
    """list 100 users: selected columns"""
    return port.list_users(op["skip"], PAGE, how="columns")


@VARIANTS.add("list_users", "sql")
def list_by_sql(port: Any, op: Op) -> Any:
    """list 100 users: hand-written SQL"""
    return port.list_users(op["skip"], PAGE, how="sql")


# --- writes, as the API does them ------------------------------------------------------


@VARIANTS.add("create_user", "api")
def create(port: Any, op: Op) -> Any:
    """create a user (INSERT ... RETURNING)"""
    return port.create_user(op["new_user"], how="api")


@VARIANTS.add("update_user", "api")
def update(port: Any, op: Op) -> Any:
    """update a user (as PATCH does)"""
    return port.update_user(op["user_id"], op["change"], how="api")


@VARIANTS.add("delete_user", "api")
def delete(port: Any, op: Op) -> Any:
    """delete a user"""
    return port.delete_user(op["doomed_id"], how="api")


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    if variant.startswith("get"):
        got = shapes.user(result)
        check(got["id"] == op["user_id"], f"asked for user {op['user_id']}, got {got['id']}")
        check(got["username"] == f"user{op['user_id']}", f"wrong user row: {got}")
    elif variant.startswith("list"):
        ids = [shapes.field(row, "id") for row in result]
        expected = list(range(op["skip"] + 1, op["skip"] + 1 + PAGE))
        check(
            ids == expected, f"page at skip={op['skip']}: ids {ids[:3]}..., not {expected[:3]}..."
        )
    elif variant == "create":
        got = shapes.user(result)
        check(got["email"] == op["new_user"].email, f"created {got}, not {op['new_user']}")
    elif variant == "update":
        got = shapes.user(result)
        check(got["is_active"] == op["change"].is_active, f"update not applied: {got}")
    elif variant == "delete":
        check(result is None, f"delete returns nothing, got {result!r}")


def rows(variant: str, result: Any) -> int:
    if variant.startswith("list"):
        return len(result)
    return 0 if variant == "delete" else 1
