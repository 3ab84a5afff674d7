"""No password ever leaves the API, and only Argon2id hashes reach the database."""

import json
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.contract.helpers import (
    PASSWORD,
    create_task,
    create_user,
    create_users,
    expect,
    expect_invalid,
    user_body,
)

SECRET = "Zq7-very-secret-Pw"  # distinctive, so finding it anywhere in a body means a leak


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _leaks(response: Response, password: Any) -> list[str]:
    """What of the sent ``password``, or of any hash, shows up in the response body: the
    first 7 characters of each string in it are enough to be distinctive, and catch a
    partial or escaped echo too."""
    text = response.text
    found = [marker for marker in ("$argon2", "hashed_password") if marker in text]
    for leaf in _leaves(password):
        form = leaf[:7] if isinstance(leaf, str) else json.dumps(leaf)
        if form in text:
            found.append(form)
    return found


# (password, what else the body holds): each must be refused without echoing the password.
BAD_PASSWORD_BODIES = [
    pytest.param("Zq7-sh!", {}, id="too short"),
    pytest.param(SECRET * 8, {}, id="too long"),
    pytest.param(SECRET + "\x00", {}, id="NUL inside"),
    pytest.param(98765432109, {}, id="integer"),
    pytest.param([SECRET], {}, id="list"),
    pytest.param({"value": SECRET}, {}, id="object"),
    pytest.param(SECRET, {"email": None}, id="with a null field"),
    pytest.param(SECRET, {"email": "not an email"}, id="with a bad email"),
    pytest.param(SECRET, {"username": "x"}, id="with a bad username"),
    pytest.param(SECRET, {"role": "admin"}, id="with an unknown field"),
    pytest.param("Zq7-sh!", {"email": "bad", "username": "x"}, id="with every field bad"),
]


@pytest.mark.parametrize(("password", "others"), BAD_PASSWORD_BODIES)
def test_create_user_422_never_echoes_the_password(
    client: TestClient, password: Any, others: dict
) -> None:
    response = client.post("/users", json=user_body("bob", password=password, **others))
    expect_invalid(response)
    assert _leaks(response, password) == []


@pytest.mark.parametrize("password", [SECRET, "Zq7-sh!", 98765432109])
def test_create_user_422_with_missing_fields_never_echoes_the_password(
    client: TestClient, password: Any
) -> None:
    for body in ({"password": password}, {"password": password, "email": "b@example.com"}):
        response = client.post("/users", json=body)
        assert {e["type"] for e in expect_invalid(response)} >= {"missing"}
        assert _leaks(response, password) == []


@pytest.mark.parametrize(
    "body",
    [
        [{"email": "b@example.com", "username": "bob", "password": SECRET}],
        {"user": {"password": SECRET}},
        f'{{"password": "{SECRET}"',
    ],
    ids=["inside a list", "nested", "inside malformed JSON"],
)
def test_422_for_a_malformed_body_never_echoes_a_password(client: TestClient, body: Any) -> None:
    if isinstance(body, str):
        headers = {"content-type": "application/json"}
        response = client.post("/users", content=body.encode(), headers=headers)
    else:
        response = client.post("/users", json=body)
    expect_invalid(response)
    assert _leaks(response, SECRET) == []


@pytest.mark.parametrize(("password", "others"), BAD_PASSWORD_BODIES)
def test_patch_user_422_never_echoes_the_password(
    client: TestClient, password: Any, others: dict
) -> None:
    create_user(client, "alice")
    response = client.patch("/users/1", json={"password": password, **others})
    expect_invalid(response)
    assert _leaks(response, password) == []


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_no_success_response_carries_a_password_or_hash(client: TestClient) -> None:
    responses = [client.post("/users", json=user_body("alice", password=SECRET))]
    create_users(client, 1, "bob")
    create_task(client, 1, "t")
    responses += [
        client.get("/users"),
        client.get("/users/1"),
        client.get("/users/with-tasks"),
        client.get("/users/1/with-tasks"),
        client.patch("/users/1", json={"password": SECRET + "-2"}),
        client.patch("/users/1", json={"email": "alice2@example.com", "password": SECRET}),
        client.patch("/users/2", json={"is_active": False}),
    ]
    for response in responses:
        assert response.status_code in {200, 201}, response.text
        assert _keys(response.json()) & {"password", "hashed_password"} == set(), response.text
        assert _leaks(response, SECRET) == []


def _hash_of(db, user_id: int) -> str:
    db.execute("SELECT hashed_password FROM users WHERE id = %s", (user_id,))
    return db.fetchone()[0]


def _verifies(hashed: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(hashed, password)
    except VerificationError:
        return False


def test_the_database_holds_only_argon2id_hashes(client: TestClient, db) -> None:
    create_user(client, "alice", password=SECRET)
    create_user(client, "bob", password=SECRET)
    create_user(client, "carol")
    db.execute("SELECT hashed_password FROM users ORDER BY id")
    hashes = [row[0] for row in db.fetchall()]
    assert all(h.startswith("$argon2id$") for h in hashes), hashes
    assert not any(SECRET in h or PASSWORD in h for h in hashes)
    assert hashes[0] != hashes[1]  # salted: the same password, two different hashes
    assert _verifies(hashes[0], SECRET)
    assert _verifies(hashes[2], PASSWORD)
    assert not _verifies(hashes[0], PASSWORD)


def test_patching_the_password_stores_a_new_hash_only(client: TestClient, db) -> None:
    create_user(client, "alice", password=SECRET)
    first = _hash_of(db, 1)
    expect(client.patch("/users/1", json={"username": "alice2", "is_active": False}), 200)
    assert _hash_of(db, 1) == first
    new_password = "a whole new secret"
    expect(client.patch("/users/1", json={"password": new_password}), 200)
    second = _hash_of(db, 1)
    assert second.startswith("$argon2id$")
    assert new_password not in second
    assert _verifies(second, new_password)
    assert not _verifies(second, SECRET)


def test_a_refused_password_change_keeps_the_old_hash(client: TestClient, db) -> None:
    create_users(client, 1, "alice")
    create_user(client, "bob")
    before = _hash_of(db, 1)
    expect_invalid(client.patch("/users/1", json={"password": "short"}))
    response = client.patch("/users/1", json={"password": SECRET, "username": "bob"})
    assert response.status_code == 409, response.text
    assert _hash_of(db, 1) == before
