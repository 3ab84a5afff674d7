"""``ORMBENCH_CACHE=memory|redis``: a cached ``GET /users/{id}/stats`` answers as the uncached
one does, after every kind of write, in every implementation; a hit sends no statement.

Each test runs against the implementation's app with an in-process cache and with Redis (a
real server: REDIS_URL's, else an embedded one), and compares its answers with those of the
same implementation without a cache, on the same database.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from implementations import create_app
from tests.contract.conftest import cache_settings, forget_cache, settings_for
from tests.contract.helpers import (
    create_task,
    create_tasks,
    create_user,
    expect,
    statements,
    titled,
)


@pytest.fixture(scope="session", params=["memory", "redis"])
def cached_app(
    request: pytest.FixtureRequest, implementation: str, database_url: str
) -> Iterator[TestClient]:
    mode = request.param
    settings = settings_for(database_url, **cache_settings(request, mode, f"{implementation}-c"))
    with TestClient(create_app(implementation, settings), raise_server_exceptions=False) as app:
        yield app


@pytest.fixture(scope="session")
def uncached_app(implementation: str, database_url: str) -> Iterator[TestClient]:
    app = create_app(implementation, settings_for(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cached(cached_app: TestClient, empty_tables: None) -> TestClient:
    forget_cache(cached_app)
    return cached_app


def stats(client: TestClient, user_id: int) -> tuple[int, Any, str | None]:
    response = client.get(f"/users/{user_id}/stats")
    body = response.json() if response.status_code in (200, 404) else response.text
    return response.status_code, body, response.headers.get("x-cache")


def two_users(client: TestClient) -> tuple[int, int, list[dict[str, Any]]]:
    """Users a and b, a with three tasks (one completed), b with one."""
    a, b = create_user(client, "ada")["id"], create_user(client, "bob")["id"]
    tasks = [
        create_task(client, a, "one", priority=1),
        create_task(client, a, "two", priority=4, completed=True),
        create_task(client, a, "three", priority=2),
        create_task(client, b, "four", priority=5),
    ]
    return a, b, tasks


def test_a_hit_sends_nothing_and_answers_the_same_bytes(cached: TestClient) -> None:
    a, _, _ = two_users(cached)
    first = cached.get(f"/users/{a}/stats")
    second = cached.get(f"/users/{a}/stats")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["x-cache"] == "miss"
    assert statements(first) == 1
    assert second.headers["x-cache"] == "hit"
    assert statements(second) == 0
    assert second.headers["x-round-trips"] == "0"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert expect(second, 200) == {"total": 3, "completed": 1, "pending": 2, "avg_priority": 7 / 3}


def test_unknown_users_and_bad_ids_are_never_cached(cached: TestClient) -> None:
    for _ in range(2):
        assert stats(cached, 999_999)[:2] == (404, {"detail": "User not found"})
        assert stats(cached, 999_999)[2] == "miss"
    assert cached.get("/users/0/stats").status_code == 422
    assert cached.get("/users/2147483648/stats").status_code == 422


Write = Callable[[TestClient, int, int, list[dict[str, Any]]], int]

# Every write that changes a user's stats, each with the status it answers.
WRITES: dict[str, Write] = {
    "create task": lambda c, a, b, t: c.post(f"/users/{a}/tasks", json={"title": "new"}),
    "bulk create": lambda c, a, b, t: c.post(
        f"/users/{b}/tasks/bulk", json=titled("x", "y", priority=3, completed=True)
    ),
    "update task": lambda c, a, b, t: c.patch(f"/tasks/{t[0]['id']}", json={"completed": True}),
    "bulk update": lambda c, a, b, t: c.patch(
        "/tasks/bulk",
        json=[{"id": t[1]["id"], "completed": False}, {"id": t[3]["id"], "priority": 0}],
    ),
    "delete task": lambda c, a, b, t: c.delete(f"/tasks/{t[2]['id']}"),
    "transfer": lambda c, a, b, t: c.post(
        f"/tasks/{t[1]['id']}/transfer", json={"from_user_id": a, "to_user_id": b}
    ),
    "delete user": lambda c, a, b, t: c.delete(f"/users/{a}"),
}
STATUS = {"create task": 201, "bulk create": 201, "delete task": 204, "delete user": 204}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_that_changes_stats_invalidates_them(
    cached: TestClient, uncached_app: TestClient, write: str
) -> None:
    a, b, tasks = two_users(cached)
    before = {user: stats(cached, user) for user in (a, b)}
    for user in (a, b):
        assert stats(cached, user)[2] == "hit"  # both are cached before the write
    response = WRITES[write](cached, a, b, tasks)
    assert response.status_code == STATUS.get(write, 200), response.text
    changed = 0
    for user in (a, b):
        got, truth = stats(cached, user), stats(uncached_app, user)
        assert got[:2] == truth[:2], f"after {write}, user {user}: cached {got}, truth {truth}"
        changed += got[:2] != before[user][:2]
    assert changed >= 1, f"{write} changed no stats: the test would prove nothing"


def test_a_refused_write_keeps_the_entry(cached: TestClient) -> None:
    a, _, _ = two_users(cached)
    stats(cached, a)
    assert cached.post(f"/users/{a}/tasks", json={"title": "one"}).status_code == 409
    assert cached.patch("/tasks/bulk", json=[{"id": 10**9, "completed": True}]).status_code == 404
    assert stats(cached, a)[2] == "hit"


def test_writes_to_other_users_keep_the_entry(cached: TestClient) -> None:
    a, b, tasks = two_users(cached)
    stats(cached, a)
    create_tasks(cached, b, titled("five", "six"))
    expect(cached.patch(f"/tasks/{tasks[3]['id']}", json={"priority": 0}), 200)
    assert stats(cached, a)[2] == "hit"
