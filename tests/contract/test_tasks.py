"""One task at a time: create, read, update, delete, and a user's stats."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    TASK_KEYS,
    TIMESTAMP,
    create_task,
    create_tasks,
    create_user,
    create_users,
    expect,
    expect_error,
    titled,
)

# --- POST /users/{id}/tasks --------------------------------------------------------------


def test_create_task_fills_in_the_defaults(client: TestClient, db) -> None:
    create_user(client, "alice")
    task = expect(client.post("/users/1/tasks", json={"title": "write tests"}), 201)
    assert set(task) == TASK_KEYS
    assert task == {
        "id": 1,
        "title": "write tests",
        "description": None,
        "completed": False,
        "priority": 0,
        "user_id": 1,
        "created_at": task["created_at"],
        "updated_at": None,
    }
    assert TIMESTAMP.fullmatch(task["created_at"]), task
    db.execute("SELECT created_at FROM tasks WHERE id = 1")
    assert datetime.fromisoformat(task["created_at"]) == db.fetchone()[0]


def test_create_task_with_every_field(client: TestClient) -> None:
    create_user(client, "alice")
    body = {"title": "t", "description": "d" * 10_000, "priority": 5, "completed": True}
    task = expect(client.post("/users/1/tasks", json=body), 201)
    assert {k: task[k] for k in body} == body
    assert expect(client.get("/tasks/1"), 200) == task


@pytest.mark.parametrize("user_id", [1, 2, MAX_ID])
def test_create_task_for_unknown_user_is_404(client: TestClient, db, user_id: int) -> None:
    if user_id == 2:
        create_user(client, "alice")  # user 1 exists, user 2 does not
    response = client.post(f"/users/{user_id}/tasks", json={"title": "t"})
    expect_error(response, 404, errors.USER_NOT_FOUND)
    db.execute("SELECT count(*) FROM tasks")
    assert db.fetchone() == (0,)


def test_title_is_unique_per_user_only(client: TestClient) -> None:
    create_users(client, 2)
    create_task(client, 1, "same")
    expect_error(client.post("/users/1/tasks", json={"title": "same"}), 409, errors.TITLE_TAKEN)
    assert create_task(client, 2, "same")["user_id"] == 2
    assert create_task(client, 1, "Same")["title"] == "Same"


# --- GET /tasks/{id} ---------------------------------------------------------------------


def test_get_task(client: TestClient) -> None:
    create_user(client, "alice")
    task = create_task(client, 1, "t", description="about t", priority=2)
    assert expect(client.get("/tasks/1"), 200) == task


@pytest.mark.parametrize("task_id", [1, 2, MAX_ID])
def test_get_unknown_task_is_404(client: TestClient, task_id: int) -> None:
    create_user(client, "alice")
    if task_id == 2:
        create_task(client, 1, "only task 1")
    expect_error(client.get(f"/tasks/{task_id}"), 404, errors.TASK_NOT_FOUND)


# --- PATCH /tasks/{id} -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"title": "renamed"},
        {"description": "now described"},
        {"description": None},
        {"priority": 5},
        {"priority": 0},
        {"completed": True},
        {"title": "all", "description": None, "priority": 4, "completed": True},
    ],
)
def test_patch_task_changes_only_the_given_fields(client: TestClient, change: dict) -> None:
    create_user(client, "alice")
    before = create_task(client, 1, "t", description="d", priority=1)
    after = expect(client.patch("/tasks/1", json=change), 200)
    assert set(after) == TASK_KEYS
    assert after == {**before, **change, "updated_at": after["updated_at"]}
    assert TIMESTAMP.fullmatch(after["updated_at"]), after
    assert expect(client.get("/tasks/1"), 200) == after


def test_updated_at_is_null_until_the_first_update(client: TestClient, db) -> None:
    create_user(client, "alice")
    assert create_task(client, 1, "t")["updated_at"] is None
    assert expect(client.get("/tasks/1"), 200)["updated_at"] is None
    first = expect(client.patch("/tasks/1", json={"completed": True}), 200)["updated_at"]
    db.execute("SELECT updated_at FROM tasks WHERE id = 1")
    assert datetime.fromisoformat(first) == db.fetchone()[0]
    second = expect(client.patch("/tasks/1", json={"priority": 3}), 200)["updated_at"]
    assert datetime.fromisoformat(second) >= datetime.fromisoformat(first)


def test_patch_unknown_task_is_404(client: TestClient) -> None:
    expect_error(client.patch("/tasks/1", json={"priority": 1}), 404, errors.TASK_NOT_FOUND)


def test_patch_task_to_a_title_the_user_has_is_409(client: TestClient) -> None:
    create_users(client, 2)
    create_tasks(client, 1, titled("first", "second"))
    create_task(client, 2, "bob's")
    expect_error(client.patch("/tasks/2", json={"title": "first"}), 409, errors.TITLE_TAKEN)
    assert expect(client.get("/tasks/2"), 200)["title"] == "second"
    # Its own title, or a title only another user has, is fine.
    assert expect(client.patch("/tasks/2", json={"title": "second"}), 200)["title"] == "second"
    assert expect(client.patch("/tasks/2", json={"title": "bob's"}), 200)["title"] == "bob's"


# --- DELETE /tasks/{id} ------------------------------------------------------------------


def test_delete_task_then_get_is_404(client: TestClient) -> None:
    create_user(client, "alice")
    create_tasks(client, 1, titled("a", "b"))
    assert expect(client.delete("/tasks/1"), 204) is None
    expect_error(client.get("/tasks/1"), 404, errors.TASK_NOT_FOUND)
    expect_error(client.delete("/tasks/1"), 404, errors.TASK_NOT_FOUND)
    assert [t["id"] for t in expect(client.get("/users/1/tasks"), 200)] == [2]
    # The title is free again.
    assert create_task(client, 1, "a")["id"] == 3


def test_delete_unknown_task_is_404(client: TestClient) -> None:
    expect_error(client.delete("/tasks/5"), 404, errors.TASK_NOT_FOUND)


# --- GET /users/{id}/stats ---------------------------------------------------------------


def _stats(client: TestClient, user_id: int = 1) -> dict:
    body = expect(client.get(f"/users/{user_id}/stats"), 200)
    assert set(body) == {"total", "completed", "pending", "avg_priority"}
    # A float in the JSON itself ("0.0", "3.0"), never an integer or a string.
    assert type(body["avg_priority"]) is float, body
    return body


def test_stats_of_a_user_with_no_tasks(client: TestClient) -> None:
    create_user(client, "alice")
    assert _stats(client) == {"total": 0, "completed": 0, "pending": 0, "avg_priority": 0.0}


@pytest.mark.parametrize(
    ("priorities", "completed", "average"),
    [
        ([1, 1, 2], [False, True, False], 1.3333333333333333),
        ([1, 2, 2], [True, True, True], 1.6666666666666667),
        ([2, 4], [False, False], 3.0),
        ([0], [True], 0.0),
        ([5, 0, 0, 0, 0, 0, 0], [False] * 7, 0.7142857142857143),
    ],
)
def test_stats_counts_and_an_unrounded_average(
    client: TestClient, priorities: list[int], completed: list[bool], average: float
) -> None:
    create_users(client, 2)
    create_task(client, 2, "someone else's", priority=5, completed=True)
    items = [
        {"title": f"t{n}", "priority": p, "completed": c}
        for n, (p, c) in enumerate(zip(priorities, completed, strict=True))
    ]
    create_tasks(client, 1, items)
    done = sum(completed)
    assert _stats(client) == {
        "total": len(items),
        "completed": done,
        "pending": len(items) - done,
        "avg_priority": average,
    }


def test_stats_follow_updates_and_deletes(client: TestClient) -> None:
    create_user(client, "alice")
    create_tasks(client, 1, [{"title": "a", "priority": 4}, {"title": "b", "priority": 1}])
    expect(client.patch("/tasks/2", json={"completed": True}), 200)
    assert _stats(client) == {"total": 2, "completed": 1, "pending": 1, "avg_priority": 2.5}
    expect(client.delete("/tasks/1"), 204)
    assert _stats(client) == {"total": 1, "completed": 1, "pending": 0, "avg_priority": 1.0}


@pytest.mark.parametrize("user_id", [1, MAX_ID])
def test_stats_of_unknown_user_is_404(client: TestClient, user_id: int) -> None:
    expect_error(client.get(f"/users/{user_id}/stats"), 404, errors.USER_NOT_FOUND)
