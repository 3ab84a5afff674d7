"""The 422 rules of docs/contract.md ("Input rules"), one table per kind of input.

Every refused request must be a 422 in FastAPI's validation shape, name the offending field
in ``loc``, send no statement at all (validation comes before the database), and never be a
500, whatever bytes arrive: NUL characters and lone surrogates included.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    create_task,
    create_user,
    create_users,
    expect,
    expect_error,
    expect_invalid,
    send_json_text,
    statements,
    table_rows,
    user_body,
)

# --- path ids: 1..2147483647, anything else 422, never a database error ------------------

ROUTES_WITH_AN_ID: list[tuple[str, str, Any]] = [
    ("GET", "/users/{}", None),
    ("PATCH", "/users/{}", {"is_active": False}),
    ("DELETE", "/users/{}", None),
    ("GET", "/users/{}/with-tasks", None),
    ("GET", "/users/{}/stats", None),
    ("POST", "/users/{}/tasks", {"title": "t"}),
    ("POST", "/users/{}/tasks/bulk", [{"title": "t"}]),
    ("GET", "/users/{}/tasks", None),
    ("GET", "/tasks/{}", None),
    ("PATCH", "/tasks/{}", {"completed": True}),
    ("DELETE", "/tasks/{}", None),
    ("POST", "/tasks/{}/transfer", {"from_user_id": 1, "to_user_id": 2}),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES_WITH_AN_ID]


@pytest.mark.parametrize("bad_id", ["0", "-1", "2147483648", "99999999999999999999", "abc", "1.5"])
@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_AN_ID, ids=ROUTE_IDS)
def test_path_id_out_of_range_is_422(
    client: TestClient, method: str, path: str, body: Any, bad_id: str
) -> None:
    response = client.request(method, path.format(bad_id), json=body)
    detail = expect_invalid(response)
    name = "user_id" if path.startswith("/users") else "task_id"
    assert [error["loc"] for error in detail] == [["path", name]]
    assert statements(response) == 0


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_AN_ID, ids=ROUTE_IDS)
def test_largest_path_id_is_valid_and_not_found(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    response = client.request(method, path.format(MAX_ID), json=body)
    assert response.status_code == 404, response.text
    assert response.json()["detail"] in {"User not found", "Task not found"}


# --- list paging -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/users", "/users/with-tasks"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("skip=-1", "skip"),
        ("skip=x", "skip"),
        ("skip=2147483648", "skip"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-5", "limit"),
        ("limit=1.5", "limit"),
    ],
)
def test_bad_paging_is_422(client: TestClient, path: str, query: str, field: str) -> None:
    response = client.get(f"{path}?{query}")
    assert [error["loc"] for error in expect_invalid(response)] == [["query", field]]
    assert statements(response) == 0


@pytest.mark.parametrize("path", ["/users", "/users/with-tasks"])
@pytest.mark.parametrize("query", ["skip=0", "limit=1", "limit=100", f"skip={MAX_ID}"])
def test_paging_at_the_bounds_is_fine(client: TestClient, path: str, query: str) -> None:
    create_user(client, "alice")
    expect(client.get(f"{path}?{query}"), 200)


# --- request bodies ----------------------------------------------------------------------

EMAIL_422 = ["not-an-email", "a@", "@example.com", "a b@example.com", "", 42, ["a@example.com"]]
USERNAME_422 = ["ab", "a" * 51, "has space", "emoji\u263a", "semi;colon", "", 123, "x/y"]
PASSWORD_422 = ["short", "1234567", "p" * 129, "", 12345678, True]
TITLE_422 = ["", "t" * 256, 5, ["list"]]
DESCRIPTION_422 = ["d" * 10_001, 7, {"a": 1}]
PRIORITY_422 = [-1, 6, 100, "high", 2.5]
BOOL_422 = ["maybe", [], {"a": 1}, 2]


def _cases(field: str, values: list[Any]) -> list[Any]:
    return [pytest.param(field, value, id=f"{field}={value!r:.30}") for value in values]


@pytest.mark.parametrize(
    ("field", "value"),
    _cases("email", EMAIL_422) + _cases("username", USERNAME_422),
)
def test_create_user_refuses_bad_fields(client: TestClient, db, field: str, value: Any) -> None:
    response = client.post("/users", json=user_body("valid", **{field: value}))
    assert [error["loc"] for error in expect_invalid(response)] == [["body", field]]
    assert statements(response) == 0
    assert table_rows(db, "users") == []


@pytest.mark.parametrize(
    "username", ["abc", "a" * 50, "A.b-c_9", "___", "1234567890", "Mixed.Case-name_"]
)
def test_usernames_of_the_allowed_characters_and_length_are_fine(
    client: TestClient, username: str
) -> None:
    assert create_user(client, "x", username=username)["username"] == username


@pytest.mark.parametrize("password", ["p" * 8, "p" * 128, "\u00fc" * 8, "with spaces in it"])
def test_passwords_of_8_to_128_characters_are_fine(client: TestClient, password: str) -> None:
    create_user(client, "alice", password=password)


@pytest.mark.parametrize(
    ("field", "value"),
    _cases("email", EMAIL_422)
    + _cases("username", USERNAME_422)
    + _cases("password", PASSWORD_422)
    + _cases("is_active", BOOL_422),
)
def test_patch_user_refuses_bad_fields(client: TestClient, db, field: str, value: Any) -> None:
    create_user(client, "alice")
    before = table_rows(db, "users")
    response = client.patch("/users/1", json={field: value})
    assert [error["loc"] for error in expect_invalid(response)] == [["body", field]]
    assert statements(response) == 0
    assert table_rows(db, "users") == before


TASK_FIELD_CASES = (
    _cases("title", TITLE_422)
    + _cases("description", DESCRIPTION_422)
    + _cases("priority", PRIORITY_422)
    + _cases("completed", BOOL_422)
)


@pytest.mark.parametrize(("field", "value"), TASK_FIELD_CASES)
def test_create_task_refuses_bad_fields(client: TestClient, db, field: str, value: Any) -> None:
    create_user(client, "alice")
    response = client.post("/users/1/tasks", json={"title": "valid", field: value})
    assert [error["loc"] for error in expect_invalid(response)] == [["body", field]]
    assert statements(response) == 0
    assert table_rows(db, "tasks") == []


@pytest.mark.parametrize(("field", "value"), TASK_FIELD_CASES)
def test_patch_task_refuses_bad_fields(client: TestClient, db, field: str, value: Any) -> None:
    create_user(client, "alice")
    create_task(client, 1, "before")
    before = table_rows(db, "tasks")
    response = client.patch("/tasks/1", json={field: value})
    assert [error["loc"] for error in expect_invalid(response)] == [["body", field]]
    assert table_rows(db, "tasks") == before


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "t" * 255},
        {"title": "x"},
        {"description": "d" * 10_000},
        {"description": ""},
        {"description": None},
        {"priority": 0},
        {"priority": 5},
    ],
)
def test_task_fields_at_their_bounds_are_fine(client: TestClient, fields: dict) -> None:
    create_user(client, "alice")
    created = expect(client.post("/users/1/tasks", json={"title": "t", **fields}), 201)
    assert {k: created[k] for k in fields} == fields
    patched = expect(client.patch("/tasks/1", json=fields), 200)
    assert {k: patched[k] for k in fields} == fields


def test_priority_min_at_its_bounds_is_fine(client: TestClient) -> None:
    create_user(client, "alice")
    create_task(client, 1, "top", priority=5)
    assert len(expect(client.get("/users/1/tasks?priority_min=0"), 200)) == 1
    assert len(expect(client.get("/users/1/tasks?priority_min=5"), 200)) == 1


@pytest.mark.parametrize("body", [None, [], "a string", 42, [{"title": "t"}]])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/users"), ("PATCH", "/users/1"), ("POST", "/users/1/tasks"), ("PATCH", "/tasks/1")],
)
def test_a_body_that_is_not_an_object_is_422(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    create_user(client, "alice")
    create_task(client, 1, "t")
    response = client.request(method, path, json=body)
    assert [error["loc"] for error in expect_invalid(response)] == [["body"]]
    assert statements(response) == 0


def test_malformed_json_is_422(client: TestClient) -> None:
    response = send_json_text(client, "POST", "/users", '{"email": "a@example.com",')
    assert expect_invalid(response)[0]["type"] == "json_invalid"


# --- PATCH: explicit null ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["email", "username", "password", "is_active"])
def test_patch_user_with_null_is_422(client: TestClient, db, field: str) -> None:
    create_user(client, "alice")
    before = table_rows(db, "users")
    response = client.patch("/users/1", json={field: None})
    assert [error["loc"] for error in expect_invalid(response)] == [["body"]]
    assert table_rows(db, "users") == before


@pytest.mark.parametrize("field", ["title", "priority", "completed"])
def test_patch_task_with_null_is_422_except_description(client: TestClient, field: str) -> None:
    create_user(client, "alice")
    create_task(client, 1, "t", description="d")
    response = client.patch("/tasks/1", json={field: None, "description": None})
    assert [error["loc"] for error in expect_invalid(response)] == [["body"]]
    assert expect(client.get("/tasks/1"), 200)["description"] == "d"
    assert expect(client.patch("/tasks/1", json={"description": None}), 200)["description"] is None


# --- unknown fields ----------------------------------------------------------------------

UNKNOWN_FIELD_CASES = [
    ("POST", "/users", user_body("bob", is_admin=True), ["body", "is_admin"]),
    ("POST", "/users", user_body("bob", hashed_password="x"), ["body", "hashed_password"]),
    ("PATCH", "/users/1", {"is_active": False, "id": 5}, ["body", "id"]),
    ("PATCH", "/users/1", {"created_at": "2020-01-01T00:00:00Z"}, ["body", "created_at"]),
    ("POST", "/users/1/tasks", {"title": "t", "user_id": 2}, ["body", "user_id"]),
    ("POST", "/users/1/tasks", {"title": "t", "id": 9}, ["body", "id"]),
    ("POST", "/users/1/tasks/bulk", [{"title": "t", "colour": "red"}], ["body", 0, "colour"]),
    ("PATCH", "/tasks/1", {"user_id": 2}, ["body", "user_id"]),
    ("PATCH", "/tasks/1", {"title": "t", "updated_at": "2020-01-01"}, ["body", "updated_at"]),
    ("PATCH", "/tasks/bulk", [{"id": 1, "description": "x"}], ["body", 0, "description"]),
    ("POST", "/tasks/1/transfer", {"from_user_id": 1, "to_user_id": 2, "x": 1}, ["body", "x"]),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    UNKNOWN_FIELD_CASES,
    ids=[f"{m} {p} {loc[-1]}" for m, p, _, loc in UNKNOWN_FIELD_CASES],
)
def test_unknown_body_fields_are_422(
    client: TestClient, db, method: str, path: str, body: Any, loc: list
) -> None:
    create_users(client, 2)
    create_task(client, 1, "t")
    before = (table_rows(db, "users"), table_rows(db, "tasks"))
    detail = expect_invalid(client.request(method, path, json=body))
    assert [(error["type"], error["loc"]) for error in detail] == [("extra_forbidden", loc)]
    assert (table_rows(db, "users"), table_rows(db, "tasks")) == before


# --- strings PostgreSQL cannot store: NUL, lone surrogates -------------------------------

NUL = "\\u0000"
SURROGATE = "\\ud800"
STRING_CASES = [
    ("POST", "/users", '{{"email": "a{}b@ex.org", "username": "bob", "password": "pw345678"}}'),
    ("POST", "/users", '{{"email": "b@example.com", "username": "b{}b", "password": "pw345678"}}'),
    ("POST", "/users", '{{"email": "b@example.com", "username": "bob", "password": "pw34{}5678"}}'),
    ("PATCH", "/users/1", '{{"email": "x{}@example.com"}}'),
    ("PATCH", "/users/1", '{{"username": "x{}yz"}}'),
    ("PATCH", "/users/1", '{{"password": "long enough{}"}}'),
    ("POST", "/users/1/tasks", '{{"title": "a{}b"}}'),
    ("POST", "/users/1/tasks", '{{"title": "ok", "description": "a{}b"}}'),
    ("POST", "/users/1/tasks/bulk", '[{{"title": "ok"}}, {{"title": "a{}b"}}]'),
    ("POST", "/users/1/tasks/bulk", '[{{"title": "ok", "description": "{}"}}]'),
    ("PATCH", "/tasks/1", '{{"title": "a{}b"}}'),
    ("PATCH", "/tasks/1", '{{"description": "{}"}}'),
    ("POST", "/users/1/tasks", '{{"title": "ok", "extra{}": 1}}'),
]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize(
    ("method", "path", "template"),
    STRING_CASES,
    ids=[f"{m} {p} {n}" for n, (m, p, _) in enumerate(STRING_CASES)],
)
def test_unstorable_strings_are_422_not_500(
    client: TestClient, db, method: str, path: str, template: str, bad: str
) -> None:
    create_user(client, "alice")
    create_task(client, 1, "t")
    before = (table_rows(db, "users"), table_rows(db, "tasks"))
    response = send_json_text(client, method, path, template.format(bad))
    expect_invalid(response)
    assert statements(response) == 0
    assert (table_rows(db, "users"), table_rows(db, "tasks")) == before


# Percent-encoded as they arrive: NUL, a surrogate's bytes (not UTF-8), a stray byte, "é".
@pytest.mark.parametrize("encoded", ["a%00b", "%ED%A0%80", "%FF", "caf%C3%A9"])
def test_unstorable_query_strings_are_422_not_500(client: TestClient, encoded: str) -> None:
    create_user(client, "alice")
    response = client.get(f"/users/1/tasks?sort_by={encoded}")
    assert [error["loc"] for error in expect_invalid(response)] == [["query", "sort_by"]]


def test_other_unicode_is_stored_as_sent(client: TestClient) -> None:
    create_user(client, "alice")
    title = "\u65e5\u672c\u8a9e \U0001f600 caf\u00e9"
    task = create_task(client, 1, title, description="\u00a0\u2028\U0001f680")
    assert expect(client.get(f"/tasks/{task['id']}"), 200)["title"] == title
    expect_error(client.post("/users/1/tasks", json={"title": title}), 409, errors.TITLE_TAKEN)
