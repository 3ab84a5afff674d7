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
PAGE = 50
HASH_LEFT_OUT = (
    "reads 6 of the user's 7 columns: the password hash is left out of the SELECT, "
    "which every other way reads (the ORM entity loads every column by default)"
)


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    return seed.users_and_tasks(db, params["users"], params["tasks_per_user"])


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    users = params["users"]
    # Calls that change or consume a row get a fresh one each (an update that changes
    # nothing is a no-op an ORM skips); reads spread over the seeded users.
    changed = seed.new_users(db, "changed", count)
    doomed = seed.new_users(db, "doomed", count)
    start = data.setdefault("calls", 0)
    data["calls"] += count
    return [
        {
            "user_id": 1 + (n * 7919) % users,
            "skip": (n * 31) % max(users - PAGE, 1),
            "new_user": schemas.UserCreate(
                email=f"new{n}@example.com", username=f"new{n}", password="benchmark-password"
            ),
            "changed_id": changed[i],
            "change": schemas.UserUpdate(is_active=False),
            "doomed_id": doomed[i],
        }
        for i, n in enumerate(range(start, start + count))
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


@VARIANTS.add("get_user", "lambda")
def get_lambda(port: Any, op: Op) -> Any:
    """get by id: lambda_stmt (statement construction cached)"""
    return port.get_user(op["user_id"], how="lambda")


@VARIANTS.add("get_user", "deferred", differs=HASH_LEFT_OUT)
def get_deferred(port: Any, op: Op) -> Any:
    """get by id: ORM entity without the password hash (defer / .only())"""
    return port.get_user(op["user_id"], how="deferred")


@VARIANTS.add("get_user", "columns")
def get_columns(port: Any, op: Op) -> Any:
    """get by id: selected columns, no entity"""
    return port.get_user(op["user_id"], how="columns")


@VARIANTS.add("get_user", "autocommit")
def get_autocommit(port: Any, op: Op) -> Any:
    """get by id: ORM entity on an autocommit connection (no BEGIN, no ROLLBACK)"""
    return port.get_user(op["user_id"], how="autocommit")


@VARIANTS.add("get_user", "transaction")
def get_in_transaction(port: Any, op: Op) -> Any:
    """get by id: hand-written SQL inside BEGIN ... ROLLBACK (the Session's round trips)"""
    return port.get_user(op["user_id"], how="transaction")


@VARIANTS.add("get_user", "sql")
def get_by_sql(port: Any, op: Op) -> Any:
    """get by id: hand-written SQL (floor)"""
    return port.get_user(op["user_id"], how="sql")


@VARIANTS.add("get_user", "no_reset")
def get_no_reset(port: Any, op: Op) -> Any:
    """get by id: asyncpg pool without its reset query on release"""
    return port.get_user(op["user_id"], how="no_reset")


@VARIANTS.add("get_user", "prepared")
def get_prepared(port: Any, op: Op) -> Any:
    """get by id: server-side prepared statement (PREPARE once, EXECUTE)"""
    return port.get_user(op["user_id"], how="prepared")


# --- a page of users --------------------------------------------------------------------


@VARIANTS.add("list_users", "entity")
def list_entities(port: Any, op: Op) -> Any:
    """list 50 users: ORM entities"""
    return port.list_users(op["skip"], PAGE, how="entity")


@VARIANTS.add("list_users", "columns")
def list_columns(port: Any, op: Op) -> Any:
    """list 50 users: selected columns"""
    return port.list_users(op["skip"], PAGE, how="columns")


@VARIANTS.add("list_users", "sql")
def list_by_sql(port: Any, op: Op) -> Any:
    """list 50 users: hand-written SQL"""
    return port.list_users(op["skip"], PAGE, how="sql")


# --- writes, as the API does them ------------------------------------------------------


@VARIANTS.add("create_user", "api")
def create(port: Any, op: Op) -> Any:
    """create a user (INSERT ... RETURNING)"""
    return port.create_user(op["new_user"], how="api")


@VARIANTS.add("update_user", "api")
def update(port: Any, op: Op) -> Any:
    """update a user (as PATCH does)"""
    return port.update_user(op["changed_id"], op["change"], how="api")


@VARIANTS.add("delete_user", "api")
def delete(port: Any, op: Op) -> Any:
    """delete a user"""
    return port.delete_user(op["doomed_id"], how="api")


def _stored_user(db: seed.Database, user_id: int) -> dict[str, Any] | None:
    found = db.all(f"SELECT {', '.join(shapes.USER_FIELDS)} FROM users WHERE id = %s", (user_id,))
    return found[0] if found else None


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    if variant.startswith("get"):
        got = shapes.user(result)
        check(got == _stored_user(db, op["user_id"]), f"user {op['user_id']}: got {got}")
    elif variant.startswith("list"):
        got = [shapes.user(row) for row in result]
        expected = db.all(
            f"SELECT {', '.join(shapes.USER_FIELDS)} FROM users ORDER BY id OFFSET %s LIMIT %s",
            (op["skip"], PAGE),
        )
        check(got == expected, f"page at skip={op['skip']} differs from the stored users")
    elif variant == "create":
        got = shapes.user(result)
        new = op["new_user"]
        check(got == _stored_user(db, got["id"]), f"created {got}, stored otherwise")
        check(
            (got["email"], got["username"], got["is_active"]) == (new.email, new.username, True),
            f"created {got}, not {new}",
        )
    elif variant == "update":
        got = shapes.user(result)
        check(got == _stored_user(db, op["changed_id"]), f"updated {got}, stored otherwise")
        check(got["id"] == op["changed_id"], f"updated user {got['id']}, not {op['changed_id']}")
        check(got["is_active"] == op["change"].is_active, f"update not applied: {got}")
    elif variant == "delete":
        check(result is None, f"delete returns nothing, got {result!r}")
        check(_stored_user(db, op["doomed_id"]) is None, "the user is still there")


def rows(variant: str, result: Any) -> int:
    if variant.startswith("list"):
        return len(result)
    return 0 if variant == "delete" else 1
