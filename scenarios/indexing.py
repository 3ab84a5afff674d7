"""Indexing: which index serves which of the API's queries, what the plan says, what it costs.

Sets of indexes on tasks, each applied in a database of the scenario's own (the migrations
and the main schema are never touched): primary keys only; one index per column; the
migrations' set; indexes better than it, whose keys end with each listing's whole ORDER BY,
one INCLUDEing what the stats read; and, with the full profile, a partial index of the open
tasks. Under each set every implementation runs its own crud path: the API's task listing
(open tasks newest first; priority 4 and up, highest first; by title), a deep page of it,
the stats aggregate, and a user's delete, whose cascade must find that user's tasks. COPY of
a batch of new tasks on the floors gives the price the set adds to writes.

Beside each time is the plan PostgreSQL chose for the exact SQL the implementation sent
(EXPLAIN ANALYZE, BUFFERS): how tasks was read, the rows it read, the shared buffers hit
and read, and an Index Only Scan's heap fetches. psycopg2 sends the values inline, so its
statements are always planned for them (custom); asyncpg prepares every statement, so its
plan is the one PostgreSQL settles on after five executions, custom or generic, as the plan
kind says. The tasks are written interleaved, every user's first task, then every user's
second, as a live service writes them, so one user's tasks lie on as many pages as they
are many: an index that reads fewer of them saves what it would on real data.
"""

import time
from collections import deque
from typing import Any

from scenarios import (
    Op,
    Variants,
    aggregation,
    bulk_insert,
    check,
    index_sets,
    plans,
    seed,
    shapes,
)

OWN_DATABASE = True  # setup changes the indexes: the runner gives it a database of its own
PAGE = 20
DEEP = 0.9  # the deep page starts this far into the user's open tasks
DOOMED_AHEAD = 10  # users with tasks made before VACUUM, for the delete's first calls
SETS_BY_PROFILE = {
    "quick": ("migrations", "covering"),
    # The four sets the comparison needs; the partial set only where the tasks are many.
    "standard": ("pk_only", "single_column", "migrations", "covering"),
    "full": tuple(index_sets.SETS),
}
# users, tasks per user, rows per COPY: standard is the other scenarios' standard data,
# full has a million tasks (a thousand a user, so a deep page is deep).
DATA = {"quick": (100, 10, 1_000), "standard": (1_000, 20, 10_000), "full": (1_000, 1_000, 10_000)}
PARAMS = {
    profile: [
        {"index_set": name, "users": users, "tasks_per_user": per_user, "insert_rows": rows}
        for name in SETS_BY_PROFILE[profile]
    ]
    for profile, (users, per_user, rows) in DATA.items()
}
VARIANTS = Variants()
LISTINGS: dict[str, dict[str, Any]] = {
    "open_newest": {"completed": False, "sort_by": "created_at"},
    "deep_page": {"completed": False, "sort_by": "created_at"},
    "priority_min": {"priority_min": 4, "sort_by": "priority"},
    "by_title": {"sort_by": "title"},
}
# The same listings in the harness's SQL, for verify: the API's order, id as the tie-break.
REFERENCE = {
    "open_newest": ("NOT completed", "created_at DESC, id DESC"),
    "deep_page": ("NOT completed", "created_at DESC, id DESC"),
    "priority_min": ("priority >= 4", "priority DESC, id"),
    "by_title": ("true", 'title COLLATE "C", id'),
}


def setup(db: seed.Database, params: dict[str, Any]) -> dict[str, Any]:
    chosen = index_sets.SETS[params["index_set"]]
    index_sets.strip(db)  # the bare table loads fastest; the set is built after
    # VACUUM marks a page all-visible (what an Index Only Scan needs) only once the commit
    # of its rows is flushed; the embedded server commits asynchronously, so the seed's
    # commits are made to wait for their flush (this connection only).
    db.execute("SET synchronous_commit = on")
    started = time.perf_counter()
    data = seed.users_and_tasks(db, params["users"], params["tasks_per_user"], interleaved=True)
    seed_s = time.perf_counter() - started
    # Users for the delete to consume, made now so that VACUUM below covers their rows: the
    # plans are taken on a table whose every page is all-visible, as after a VACUUM.
    data["mark"] = 0
    data["doomed"] = deque(_new_doomed(db, data, DOOMED_AHEAD))
    built = index_sets.build(db, chosen)
    sizes = index_sets.sizes(db)
    data["open"] = {
        row["user_id"]: row["open"]
        for row in db.all(
            "SELECT user_id, count(*) FILTER (WHERE NOT completed) AS open FROM tasks "
            "GROUP BY user_id"
        )
    }
    data["rows"] = bulk_insert.task_rows(params["insert_rows"])
    data["bulk"] = deque()
    data["mark"] = db.value("SELECT coalesce(max(id), 0) FROM tasks")
    data["setup"] = {
        "index_set": chosen.name,
        "label": chosen.label,
        "reason": chosen.reason,
        "tasks": data["tasks"],
        "seed_s": seed_s,
        "vacuum_s": built["vacuum_s"],
        "tasks_bytes": sizes["tasks"],
        "pk_bytes": sizes["pk_tasks"],
        "indexes": [
            {
                "name": index.name,
                "ddl": index.ddl,
                "reason": index.reason,
                "build_s": timing["build_s"],
                "bytes": sizes[index.name],
            }
            for index, timing in zip(chosen.indexes, built["indexes"], strict=True)
        ],
    }
    return data


def describe_setup(data: dict[str, Any]) -> dict[str, Any]:
    return data["setup"]


def ops(db: seed.Database, data: dict[str, Any], params: dict[str, Any], count: int) -> list[Op]:
    users = params["users"]
    start = data.setdefault("calls", 0)
    data["calls"] += count
    # Users a call may consume (deleted, or given tasks), from pools the after() refills:
    # made only when a pool runs dry, so reads do not pay for them.
    doomed = _take(data["doomed"], count, lambda n: _new_doomed(db, data, n))
    bulk = _take(data["bulk"], count, lambda n: seed.new_users(db, "bulk", n))
    ops = []
    for i, n in enumerate(range(start, start + count)):
        user_id = 1 + (n * 7919) % users
        ops.append(
            {
                "user_id": user_id,
                "skip": int(data["open"].get(user_id, 0) * DEEP),
                "doomed_id": doomed[i],
                "bulk_user_id": bulk[i],
                "rows": data["rows"],
            }
        )
    return ops


def after(db: seed.Database, data: dict[str, Any], ops: list[Op]) -> None:
    # Tasks past the mark are what the calls wrote (the COPY); the users not deleted go
    # back to their pools. One round trip: this runs after every batch of every variant.
    unused = [op["doomed_id"] for op in ops]
    alive = db.all(
        "DELETE FROM tasks WHERE id > %s; SELECT id FROM users WHERE id = ANY(%s)",
        (data["mark"], unused),
    )
    data["bulk"].extend(op["bulk_user_id"] for op in ops)
    data["doomed"].extend(user_id for user_id in unused if {"id": user_id} in alive)


def _take(pool: deque, count: int, make: Any) -> list[int]:
    if len(pool) < count:
        pool.extend(make(count - len(pool)))
    return [pool.popleft() for _ in range(count)]


def _new_doomed(db: seed.Database, data: dict[str, Any], count: int) -> list[int]:
    ids = seed.new_users(db, "doomed", count)
    with db.connection.cursor() as cursor:
        data["mark"] = max(data["mark"], _give_tasks(cursor, ids))
    return ids


def _give_tasks(cursor: Any, user_ids: list[int]) -> int:
    """PAGE tasks for each of ``user_ids`` (what a user's delete cascades to); the last
    task id."""
    cursor.execute(
        "WITH given AS (INSERT INTO tasks (user_id, title, priority, completed) "
        "SELECT u, 'doomed ' || j, j %% 6, j %% 3 = 0 "
        "FROM unnest(%s::integer[]) AS u, generate_series(1, %s) AS j RETURNING id) "
        "SELECT max(id) FROM given",
        (user_ids, PAGE),
    )
    return cursor.fetchone()[0]


# --- the queries, as the API sends them -----------------------------------------------


@VARIANTS.add("list_tasks", "api")
def open_newest(port: Any, op: Op) -> Any:
    """listing: open tasks, newest first (completed=false)"""
    return port.list_tasks(op["user_id"], how="api", skip=0, limit=PAGE, **LISTINGS["open_newest"])


@VARIANTS.add("list_tasks", "api")
def deep_page(port: Any, op: Op) -> Any:
    """listing: open tasks, newest first, a page 90% deep (skip)"""
    filters = LISTINGS["deep_page"]
    return port.list_tasks(op["user_id"], how="api", skip=op["skip"], limit=PAGE, **filters)


@VARIANTS.add("list_tasks", "api")
def priority_min(port: Any, op: Op) -> Any:
    """listing: priority_min=4, highest first"""
    return port.list_tasks(op["user_id"], how="api", skip=0, limit=PAGE, **LISTINGS["priority_min"])


@VARIANTS.add("list_tasks", "api")
def by_title(port: Any, op: Op) -> Any:
    """listing: every task, by title"""
    return port.list_tasks(op["user_id"], how="api", skip=0, limit=PAGE, **LISTINGS["by_title"])


@VARIANTS.add("user_stats", "sql")
def stats(port: Any, op: Op) -> Any:
    """the stats aggregate (COUNT, COUNT FILTER, AVG)"""
    return port.user_stats(op["user_id"], how="sql")


@VARIANTS.add("delete_user", "api")
def delete_user(port: Any, op: Op) -> Any:
    """delete a user: the cascade finds their 20 tasks"""
    return port.delete_user(op["doomed_id"], how="api")


@VARIANTS.add("bulk_insert_tasks", "copy")
def insert_copy(port: Any, op: Op) -> Any:
    """COPY a batch of new tasks: what the set costs a write"""
    return port.bulk_insert_tasks(op["bulk_user_id"], op["rows"], how="copy")


# Each query is divided by the same query on the floor (same index set, same run).
FLOOR = {variant.name: variant.name for variant in VARIANTS}


def explain(
    db: seed.Database, variant: str, driver: str, sent: list, op: Op, data: dict[str, Any]
) -> list[dict[str, Any]]:
    prepare = None
    if variant == "delete_user":  # the call deleted the user: put it back to delete again

        def prepare(cursor: Any) -> None:
            cursor.execute(
                "INSERT INTO users (id, email, username, hashed_password) "
                "VALUES (%(id)s, 'again' || %(id)s || '@example.com', 'again' || %(id)s, %(h)s)",
                {"id": op["doomed_id"], "h": seed.SEEDED_HASH},
            )
            _give_tasks(cursor, [op["doomed_id"]])

    return plans.explain_sent(db, driver, sent, prepare)


def verify(db: seed.Database, variant: str, result: Any, op: Op, data: dict[str, Any]) -> None:
    if variant in REFERENCE:
        where, order = REFERENCE[variant]
        skip = op["skip"] if variant == "deep_page" else 0
        expected = db.all(
            "SELECT id, title, description, completed, priority, user_id FROM tasks "
            f"WHERE user_id = %s AND {where} ORDER BY {order} OFFSET %s LIMIT %s",
            (op["user_id"], skip, PAGE),
        )
        got = [shapes.task(row) for row in result]
        check(got == expected, f"{variant} for user {op['user_id']} differs from the reference")
    elif variant == "stats":  # the aggregation scenario's check of the same call
        aggregation.verify(db, "in_sql", result, op, data)
    elif variant == "delete_user":
        user_id = op["doomed_id"]
        check(
            not db.all("SELECT 1 FROM users WHERE id = %s", (user_id,)), "the user is still there"
        )
        left = db.value("SELECT count(*) FROM tasks WHERE user_id = %s", (user_id,))
        check(left == 0, f"{left} of the deleted user's tasks are left")
    else:  # the bulk_insert scenario's check: the count, and every row read back
        inserted = {"user_id": op["bulk_user_id"], "rows": op["rows"]}
        bulk_insert.verify(db, "copy", result, inserted, data)


def rows(variant: str, result: Any) -> int:
    if variant in REFERENCE:
        return len(result)
    if variant == "insert_copy":
        return int(result)
    return 1  # one summary row; one user deleted
