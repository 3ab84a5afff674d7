"""Small helpers for the contract suite: make data through the API, read what came back.

Every helper goes through HTTP, as a client would, so the data a test starts from was
written by the implementation under test; the ``db`` cursor is only for checking.
"""

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

MAX_ID = 2_147_483_647
PASSWORD = "correct horse battery staple"
USER_KEYS = {"id", "email", "username", "is_active", "created_at", "updated_at"}
TASK_KEYS = {
    "id",
    "title",
    "description",
    "completed",
    "priority",
    "user_id",
    "created_at",
    "updated_at",
}
# UTC as pydantic renders it: seconds, optional fraction, and a "Z", never "+00:00".
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def expect(response: Response, status: int) -> Any:
    """The JSON body of ``response`` (None if empty) after checking its status code."""
    request = response.request
    assert response.status_code == status, (
        f"{request.method} {request.url.path}?{request.url.query.decode()} answered "
        f"{response.status_code}, expected {status}: {response.text[:2000]}"
    )
    return response.json() if response.content else None


def expect_error(response: Response, status: int, detail: str) -> None:
    """A 404 or 409 with exactly the contract's ``{"detail": ...}`` text."""
    assert expect(response, status) == {"detail": detail}


def expect_invalid(response: Response) -> list[dict[str, Any]]:
    """A 422 in FastAPI's validation shape; returns its list of errors."""
    body = expect(response, 422)
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], list), body
    assert body["detail"], body
    for error in body["detail"]:
        assert {"type", "loc", "msg", "input"} <= set(error), error
    return body["detail"]


def statements(response: Response) -> int:
    """The statements the request sent, as the implementation reports them."""
    return int(response.headers["x-query-count"])


def send_json_text(client: TestClient, method: str, path: str, text: str) -> Response:
    """Send ``text`` as the JSON body unchanged: for escapes such as a lone ``\\ud800``,
    which no Python string can carry through ``json=`` and UTF-8."""
    return client.request(
        method, path, content=text.encode(), headers={"content-type": "application/json"}
    )


def user_body(name: str, **overrides: Any) -> dict[str, Any]:
    return {"email": f"{name}@example.com", "username": name, "password": PASSWORD, **overrides}


def create_user(client: TestClient, name: str = "alice", **overrides: Any) -> dict[str, Any]:
    return expect(client.post("/users", json=user_body(name, **overrides)), 201)


def create_users(client: TestClient, count: int, prefix: str = "user") -> list[dict[str, Any]]:
    return [create_user(client, f"{prefix}{n}") for n in range(1, count + 1)]


def create_task(
    client: TestClient, user_id: int, title: str = "task", **fields: Any
) -> dict[str, Any]:
    return expect(client.post(f"/users/{user_id}/tasks", json={"title": title, **fields}), 201)


def create_tasks(client: TestClient, user_id: int, items: list[dict[str, Any]]) -> None:
    response = client.post(f"/users/{user_id}/tasks/bulk", json=items)
    assert expect(response, 201) == {"created": len(items)}


def titled(*titles: str, **fields: Any) -> list[dict[str, Any]]:
    """Bulk items with these titles and the same other ``fields``."""
    return [{"title": title, **fields} for title in titles]


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def table_rows(db: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in id order, for before/after comparisons."""
    db.execute(f"SELECT * FROM {table} ORDER BY id")  # a fixed table name, never user input
    return db.fetchall()


def count_rows(db: Any, table: str) -> int:
    db.execute(f"SELECT count(*) FROM {table}")
    return db.fetchone()[0]
