"""GET /health and the /users rows of the contract (docs/contract.md, "Endpoints")."""

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    TIMESTAMP,
    USER_KEYS,
    create_task,
    create_user,
    create_users,
    expect,
    expect_error,
    ids,
    user_body,
)


def test_health_names_the_implementation_and_the_server(
    client: TestClient, implementation: str, db
) -> None:
    db.execute("SHOW server_version")
    major_minor = db.fetchone()[0].split()[0]
    body = expect(client.get("/health"), 200)
    assert body == {
        "status": "ok",
        "implementation": implementation,
        "database": f"PostgreSQL {major_minor}",
    }
    assert re.fullmatch(r"PostgreSQL \d+\.\d+", body["database"])


# --- POST /users -------------------------------------------------------------------------


def test_create_user_answers_201_with_the_user(client: TestClient, db) -> None:
    user = expect(client.post("/users", json=user_body("alice")), 201)
    assert set(user) == USER_KEYS
    assert user["id"] == 1
    assert (user["email"], user["username"]) == ("alice@example.com", "alice")
    assert user["is_active"] is True
    assert user["updated_at"] is None
    assert TIMESTAMP.fullmatch(user["created_at"]), user["created_at"]
    db.execute("SELECT created_at FROM users WHERE id = 1")
    assert datetime.fromisoformat(user["created_at"]) == db.fetchone()[0]


def test_email_is_stored_lowercased(client: TestClient, db) -> None:
    user = create_user(client, "alice", email="Alice.Smith@Example.COM")
    assert user["email"] == "alice.smith@example.com"
    db.execute("SELECT email FROM users")
    assert db.fetchall() == [("alice.smith@example.com",)]


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@example.com"])
def test_email_uniqueness_ignores_case(client: TestClient, email: str) -> None:
    create_user(client, "alice")
    response = client.post("/users", json=user_body("other", email=email))
    expect_error(response, 409, errors.EMAIL_TAKEN)


def test_username_taken_is_409(client: TestClient) -> None:
    create_user(client, "alice")
    response = client.post("/users", json=user_body("alice", email="another@example.com"))
    expect_error(response, 409, errors.USERNAME_TAKEN)


def test_a_refused_user_is_not_stored(client: TestClient, db) -> None:
    create_user(client, "alice")
    client.post("/users", json=user_body("alice", email="another@example.com"))
    client.post("/users", json=user_body("bob", email="ALICE@example.com"))
    db.execute("SELECT username FROM users")
    assert db.fetchall() == [("alice",)]


# --- GET /users, GET /users/{id} ---------------------------------------------------------


def test_get_user(client: TestClient) -> None:
    created = create_user(client, "alice")
    assert expect(client.get("/users/1"), 200) == created


@pytest.mark.parametrize("user_id", [1, 2, MAX_ID])
def test_get_unknown_user_is_404(client: TestClient, user_id: int) -> None:
    expect_error(client.get(f"/users/{user_id}"), 404, errors.USER_NOT_FOUND)


def test_list_users_is_ordered_by_id_even_after_updates(client: TestClient) -> None:
    create_users(client, 3)
    # An UPDATE writes a new row version at the end of the table: a list without ORDER BY
    # would now show user 1 last.
    expect(client.patch("/users/1", json={"username": "renamed"}), 200)
    assert ids(expect(client.get("/users"), 200)) == [1, 2, 3]


def test_list_users_pages_with_skip_and_limit(client: TestClient) -> None:
    create_users(client, 4)
    assert ids(expect(client.get("/users?skip=1&limit=2"), 200)) == [2, 3]
    assert ids(expect(client.get("/users?skip=3"), 200)) == [4]
    assert expect(client.get("/users?skip=4"), 200) == []
    assert ids(expect(client.get("/users?limit=1"), 200)) == [1]


def test_list_users_on_no_users_is_empty(client: TestClient) -> None:
    assert expect(client.get("/users"), 200) == []


def test_list_users_default_limit_is_100(client: TestClient, db) -> None:
    # 105 users straight into the table: hashing 105 passwords through the API would only
    # make this test slow, and listing does not read the hash.
    db.execute(
        "INSERT INTO users (email, username, hashed_password)"
        " SELECT 'u' || n || '@example.com', 'user' || n, 'x' FROM generate_series(1, 105) n"
    )
    assert ids(expect(client.get("/users"), 200)) == list(range(1, 101))
    assert ids(expect(client.get("/users?limit=100&skip=100"), 200)) == list(range(101, 106))


# --- PATCH /users/{id} -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"email": "New@Example.com"}, {"email": "new@example.com"}),
        ({"username": "alice_2.0-x"}, {"username": "alice_2.0-x"}),
        ({"is_active": False}, {"is_active": False}),
        ({"password": "another password"}, {}),
        (
            {"email": "b@example.com", "username": "bee", "is_active": False},
            {"email": "b@example.com", "username": "bee", "is_active": False},
        ),
    ],
)
def test_patch_user_changes_only_the_given_fields(
    client: TestClient, change: dict, expected: dict
) -> None:
    before = create_user(client, "alice")
    after = expect(client.patch("/users/1", json=change), 200)
    assert set(after) == USER_KEYS
    unchanged = {k: v for k, v in before.items() if k not in expected and k != "updated_at"}
    assert after == {**unchanged, **expected, "updated_at": after["updated_at"]}
    assert expect(client.get("/users/1"), 200) == after


def test_updated_at_is_null_until_the_first_update(client: TestClient, db) -> None:
    created = create_user(client, "alice")
    assert created["updated_at"] is None
    assert expect(client.get("/users/1"), 200)["updated_at"] is None
    updated = expect(client.patch("/users/1", json={"is_active": False}), 200)
    assert TIMESTAMP.fullmatch(updated["updated_at"]), updated
    updated_at = datetime.fromisoformat(updated["updated_at"])
    assert updated_at >= datetime.fromisoformat(updated["created_at"])
    db.execute("SELECT updated_at FROM users WHERE id = 1")
    assert updated_at == db.fetchone()[0]
    assert expect(client.get("/users/1"), 200)["updated_at"] == updated["updated_at"]


def test_patch_unknown_user_is_404(client: TestClient) -> None:
    expect_error(client.patch("/users/1", json={"is_active": False}), 404, errors.USER_NOT_FOUND)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"email": "bob@example.com"}, errors.EMAIL_TAKEN),
        ({"email": "BOB@example.COM"}, errors.EMAIL_TAKEN),
        ({"username": "bob"}, errors.USERNAME_TAKEN),
    ],
)
def test_patch_user_into_taken_values_is_409(client: TestClient, change: dict, detail: str) -> None:
    create_users(client, 1, "alice")
    create_user(client, "bob")
    expect_error(client.patch("/users/1", json=change), 409, detail)
    assert expect(client.get("/users/1"), 200)["username"] == "alice1"


def test_patch_user_to_its_own_email_in_other_case_is_allowed(client: TestClient) -> None:
    create_user(client, "alice")
    user = expect(client.patch("/users/1", json={"email": "ALICE@example.com"}), 200)
    assert user["email"] == "alice@example.com"


# --- DELETE /users/{id} ------------------------------------------------------------------


def test_delete_user_then_get_is_404(client: TestClient) -> None:
    create_users(client, 2)
    response = client.delete("/users/1")
    assert expect(response, 204) is None
    expect_error(client.get("/users/1"), 404, errors.USER_NOT_FOUND)
    expect_error(client.delete("/users/1"), 404, errors.USER_NOT_FOUND)
    assert ids(expect(client.get("/users"), 200)) == [2]


def test_delete_unknown_user_is_404(client: TestClient) -> None:
    expect_error(client.delete("/users/7"), 404, errors.USER_NOT_FOUND)


def test_delete_user_cascades_to_its_tasks_only(client: TestClient, db) -> None:
    create_users(client, 2)
    create_task(client, 1, "mine")
    create_task(client, 1, "also mine")
    create_task(client, 2, "theirs")
    expect(client.delete("/users/1"), 204)
    expect_error(client.get("/tasks/1"), 404, errors.TASK_NOT_FOUND)
    db.execute("SELECT id, user_id FROM tasks")
    assert db.fetchall() == [(3, 2)]


def test_email_and_username_are_free_again_after_delete(client: TestClient) -> None:
    create_user(client, "alice")
    expect(client.delete("/users/1"), 204)
    assert create_user(client, "alice")["id"] == 2
