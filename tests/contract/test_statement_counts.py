"""Exact ``X-Query-Count`` per endpoint: the statements each request sends.

Counts are deterministic, so they are asserted exactly: one more statement on an endpoint
is a regression (an N+1, a reload after commit, a SELECT before an INSERT the constraint
already answers). ``EXPECTED_STATEMENTS`` is the contract, measured on the registry's first
implementation and checked to be the fewest an ORM needs; ``OVERRIDES`` holds the endpoints
where an implementation legitimately needs a different number, each with its reason.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.contract.helpers import (
    create_task,
    create_tasks,
    create_user,
    create_users,
    expect,
    statements,
    titled,
    user_body,
)

# label -> (method, path, body, status), sent to the ``dataset`` below.
REQUESTS: dict[str, tuple[str, str, Any, int]] = {
    "GET /health": ("GET", "/health", None, 200),
    "POST /users": ("POST", "/users", user_body("carol"), 201),
    "POST /users 409": ("POST", "/users", user_body("alice"), 409),
    "GET /users": ("GET", "/users", None, 200),
    "GET /users/{id}": ("GET", "/users/1", None, 200),
    "GET /users/{id} 404": ("GET", "/users/99", None, 404),
    "PATCH /users/{id}": ("PATCH", "/users/1", {"username": "alice2", "is_active": False}, 200),
    "PATCH /users/{id} 404": ("PATCH", "/users/99", {"is_active": False}, 404),
    "PATCH /users/{id} 409": ("PATCH", "/users/1", {"username": "bob"}, 409),
    "DELETE /users/{id}": ("DELETE", "/users/1", None, 204),
    "DELETE /users/{id} 404": ("DELETE", "/users/99", None, 404),
    "GET /users/with-tasks": ("GET", "/users/with-tasks", None, 200),
    "GET /users/{id}/with-tasks": ("GET", "/users/1/with-tasks", None, 200),
    "GET /users/{id}/with-tasks 404": ("GET", "/users/99/with-tasks", None, 404),
    "GET /users/{id}/stats": ("GET", "/users/1/stats", None, 200),
    "GET /users/{id}/stats 404": ("GET", "/users/99/stats", None, 404),
    "POST /users/{id}/tasks": ("POST", "/users/1/tasks", {"title": "new"}, 201),
    "POST /users/{id}/tasks 404": ("POST", "/users/99/tasks", {"title": "new"}, 404),
    "POST /users/{id}/tasks 409": ("POST", "/users/1/tasks", {"title": "a"}, 409),
    "POST /users/{id}/tasks/bulk (3 items)": (
        "POST",
        "/users/1/tasks/bulk",
        titled("x", "y", "z"),
        201,
    ),
    "POST /users/{id}/tasks/bulk (3 mixed items)": (
        "POST",
        "/users/1/tasks/bulk",
        [
            {"title": "x", "description": "set", "priority": 3},
            {"title": "y"},
            {"title": "z", "description": None, "completed": True},
        ],
        201,
    ),
    "POST /users/{id}/tasks/bulk 404": ("POST", "/users/99/tasks/bulk", titled("x", "y"), 404),
    "POST /users/{id}/tasks/bulk 409": ("POST", "/users/1/tasks/bulk", titled("x", "a"), 409),
    "GET /users/{id}/tasks": ("GET", "/users/1/tasks", None, 200),
    "GET /users/{id}/tasks filtered": (
        "GET",
        "/users/1/tasks?completed=false&priority_min=1&sort_by=title&skip=1&limit=5",
        None,
        200,
    ),
    "GET /users/{id}/tasks 404": ("GET", "/users/99/tasks", None, 404),
    "GET /tasks/{id}": ("GET", "/tasks/1", None, 200),
    "GET /tasks/{id} 404": ("GET", "/tasks/99", None, 404),
    "PATCH /tasks/{id}": ("PATCH", "/tasks/1", {"completed": True, "priority": 2}, 200),
    "PATCH /tasks/{id} 404": ("PATCH", "/tasks/99", {"completed": True}, 404),
    "PATCH /tasks/{id} 409": ("PATCH", "/tasks/1", {"title": "b"}, 409),
    "PATCH /tasks/bulk (3 items)": (
        "PATCH",
        "/tasks/bulk",
        [{"id": 1, "completed": True}, {"id": 2, "priority": 5}, {"id": 3, "completed": True}],
        200,
    ),
    "PATCH /tasks/bulk 404": ("PATCH", "/tasks/bulk", [{"id": 1}, {"id": 99}], 404),
    "DELETE /tasks/{id}": ("DELETE", "/tasks/1", None, 204),
    "DELETE /tasks/{id} 404": ("DELETE", "/tasks/99", None, 404),
    "POST /tasks/{id}/transfer": (
        "POST",
        "/tasks/1/transfer",
        {"from_user_id": 1, "to_user_id": 2},
        200,
    ),
    "POST /tasks/{id}/transfer 404 (task)": (
        "POST",
        "/tasks/4/transfer",
        {"from_user_id": 1, "to_user_id": 2},
        404,
    ),
    "POST /tasks/{id}/transfer 404 (user)": (
        "POST",
        "/tasks/1/transfer",
        {"from_user_id": 1, "to_user_id": 99},
        404,
    ),
    "POST /tasks/{id}/transfer 409": (
        "POST",
        "/tasks/2/transfer",
        {"from_user_id": 1, "to_user_id": 2},
        409,
    ),
    "any 422": ("POST", "/users/1/tasks", {"title": "t", "priority": 9}, 422),
}

EXPECTED_STATEMENTS: dict[str, int] = {
    "GET /health": 1,
    "POST /users": 1,  # INSERT ... RETURNING
    "POST /users 409": 1,  # the failed INSERT: the unique constraint answers, no SELECT first
    "GET /users": 1,
    "GET /users/{id}": 1,
    "GET /users/{id} 404": 1,
    "PATCH /users/{id}": 2,  # load the user (404 if none), UPDATE ... RETURNING updated_at
    "PATCH /users/{id} 404": 1,
    "PATCH /users/{id} 409": 2,
    "DELETE /users/{id}": 1,  # the DELETE's row count says 404 or 204; tasks go by cascade
    "DELETE /users/{id} 404": 1,
    "GET /users/with-tasks": 2,  # users, then all their tasks at once: never one per user
    "GET /users/{id}/with-tasks": 2,
    "GET /users/{id}/with-tasks 404": 1,
    "GET /users/{id}/stats": 1,  # counts and average in one aggregate, user check included
    "GET /users/{id}/stats 404": 1,
    "POST /users/{id}/tasks": 1,  # the foreign key answers "User not found"
    "POST /users/{id}/tasks 404": 1,
    "POST /users/{id}/tasks 409": 1,
    "POST /users/{id}/tasks/bulk (3 items)": 1,  # one multi-row INSERT
    "POST /users/{id}/tasks/bulk (3 mixed items)": 1,  # still one, whichever fields are set
    "POST /users/{id}/tasks/bulk 404": 1,
    "POST /users/{id}/tasks/bulk 409": 1,
    "GET /users/{id}/tasks": 2,  # user check (an empty list is not a 404), then the page
    "GET /users/{id}/tasks filtered": 2,
    "GET /users/{id}/tasks 404": 1,
    "GET /tasks/{id}": 1,
    "GET /tasks/{id} 404": 1,
    "PATCH /tasks/{id}": 2,
    "PATCH /tasks/{id} 404": 1,
    "PATCH /tasks/{id} 409": 2,
    "PATCH /tasks/bulk (3 items)": 4,  # lock and check the ids, then one UPDATE per item
    "PATCH /tasks/bulk 404": 1,
    "DELETE /tasks/{id}": 1,
    "DELETE /tasks/{id} 404": 1,
    # Check both users, lock the sender's task, UPDATE it and INSERT the log row.
    "POST /tasks/{id}/transfer": 4,
    "POST /tasks/{id}/transfer 404 (task)": 2,
    "POST /tasks/{id}/transfer 404 (user)": 1,
    "POST /tasks/{id}/transfer 409": 3,  # the UPDATE fails; the log row is never sent
    "any 422": 0,  # validation happens before any statement
}

# implementation -> {label: count}, only where the difference is the point of the
# implementation, never to excuse an extra round trip. Each entry says why.
_HAND_WRITTEN_SQL = {
    # UPDATE ... RETURNING: the row count says 404, the returned row is the answer; an ORM
    # loads the object first.
    "PATCH /users/{id}": 1,
    "PATCH /users/{id} 409": 1,
    "PATCH /tasks/{id}": 1,
    "PATCH /tasks/{id} 409": 1,
    # The floor of eager loading: users LEFT JOIN tasks in one statement.
    "GET /users/with-tasks": 1,
    "GET /users/{id}/with-tasks": 1,
    # users LEFT JOIN LATERAL (the page of tasks): the user check and the page together.
    "GET /users/{id}/tasks": 1,
    "GET /users/{id}/tasks filtered": 1,
    # Lock and check the ids, then one UPDATE ... FROM a list of rows, whatever the size.
    "PATCH /tasks/bulk (3 items)": 2,
    # Check both users, then UPDATE ... WHERE user_id = sender RETURNING (no separate
    # SELECT ... FOR UPDATE), then INSERT the log row; a clash fails at that UPDATE.
    "POST /tasks/{id}/transfer": 3,
    "POST /tasks/{id}/transfer 409": 2,
}
OVERRIDES: dict[str, dict[str, int]] = {
    "tortoise": {
        # bulk_create on asyncpg is an executemany of a one-row INSERT (Tortoise has no
        # multi-row VALUES form): one execution per item, failed batches included.
        "POST /users/{id}/tasks/bulk (3 items)": 3,
        "POST /users/{id}/tasks/bulk (3 mixed items)": 3,
        "POST /users/{id}/tasks/bulk 404": 2,
        "POST /users/{id}/tasks/bulk 409": 2,
        # bulk_update is one UPDATE ... SET col = CASE id WHEN ... per batch, after the lock.
        "PATCH /tasks/bulk (3 items)": 2,
    },
    "raw_psycopg2": _HAND_WRITTEN_SQL,
    "raw_asyncpg": _HAND_WRITTEN_SQL,
}


def expected_statements(implementation: str, label: str) -> int:
    return OVERRIDES.get(implementation, {}).get(label, EXPECTED_STATEMENTS[label])


def test_every_request_has_an_expected_count() -> None:
    assert set(EXPECTED_STATEMENTS) == set(REQUESTS)
    for implementation, overrides in OVERRIDES.items():
        assert set(overrides) <= set(REQUESTS), implementation


def _dataset(client: TestClient) -> None:
    """Users 1 alice and 2 bob; tasks 1-3 "a", "b", "c" of alice, task 4 "b" of bob."""
    create_user(client, "alice")
    create_user(client, "bob")
    create_tasks(client, 1, [{"title": "a"}, {"title": "b", "priority": 2}, {"title": "c"}])
    create_task(client, 2, "b")


@pytest.mark.parametrize("label", list(REQUESTS))
def test_statement_count(client: TestClient, implementation: str, label: str) -> None:
    _dataset(client)
    method, path, body, status = REQUESTS[label]
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert statements(response) == expected_statements(implementation, label)


def _users_with_tasks(client: TestClient, users: int) -> int:
    """Statements for one page of ``users`` users, each with three tasks."""
    for user in create_users(client, users):
        create_tasks(client, user["id"], titled("one", "two", "three"))
    response = client.get("/users/with-tasks?limit=50")
    page = expect(response, 200)
    assert [len(user["tasks"]) for user in page] == [3] * users
    return statements(response)


def test_users_with_tasks_sends_the_same_statements_for_5_or_50_users(client, db) -> None:
    """The N+1 check: the eager load does not grow with the number of users on the page."""
    five = _users_with_tasks(client, 5)
    db.execute("TRUNCATE transfer_logs, tasks, users RESTART IDENTITY CASCADE")
    fifty = _users_with_tasks(client, 50)
    assert five == fifty
    assert fifty <= 2


# X-Round-Trips of a warm get by id: every exchange the request paid for (the engine's
# tests/engine/test_round_trips.py pins the same per way of reading, and checks PostgreSQL).
GET_ROUND_TRIPS = {
    "sync_sqlalchemy": 3,  # BEGIN, SELECT, the ROLLBACK of the pool's reset on return
    "async_sqlalchemy": 3,
    "tortoise": 2,  # the SELECT, asyncpg's reset query on release
    "raw_psycopg2": 1,  # autocommit: the SELECT alone
    "raw_asyncpg": 2,
}


def test_round_trips_of_a_get_by_id(client: TestClient, implementation: str) -> None:
    _dataset(client)
    # Warm every pooled connection's statement cache first: a prepare is a round trip too.
    for _ in range(12):
        client.get("/users/1")
    response = client.get("/users/1")
    assert statements(response) == 1
    assert int(response.headers["x-round-trips"]) == GET_ROUND_TRIPS[implementation]
