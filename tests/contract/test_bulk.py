"""POST /users/{id}/tasks/bulk and PATCH /tasks/bulk: sizes, counts, all or nothing."""

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    TIMESTAMP,
    count_rows,
    create_task,
    create_tasks,
    create_user,
    create_users,
    expect,
    expect_error,
    expect_invalid,
    table_rows,
    titled,
)

# --- POST /users/{id}/tasks/bulk ---------------------------------------------------------


def test_bulk_create_answers_the_count_and_stores_every_field(client: TestClient) -> None:
    create_user(client, "alice")
    items = [
        {"title": "plain"},
        {"title": "full", "description": "d", "priority": 5, "completed": True},
        {"title": "null description", "description": None, "priority": 0},
    ]
    assert expect(client.post("/users/1/tasks/bulk", json=items), 201) == {"created": 3}
    tasks = expect(client.get("/users/1/tasks?sort_by=priority"), 200)
    stored = {t["title"]: (t["description"], t["priority"], t["completed"]) for t in tasks}
    assert stored == {
        "plain": (None, 0, False),
        "full": ("d", 5, True),
        "null description": (None, 0, False),
    }
    assert [t["id"] for t in expect(client.get("/users/1/with-tasks"), 200)["tasks"]] == [1, 2, 3]
    assert all(t["updated_at"] is None and TIMESTAMP.fullmatch(t["created_at"]) for t in tasks)


def test_bulk_create_takes_10000_items(client: TestClient, db) -> None:
    create_user(client, "alice")
    items = titled(*(f"t{n}" for n in range(10_000)))
    assert expect(client.post("/users/1/tasks/bulk", json=items), 201) == {"created": 10_000}
    db.execute("SELECT count(*), min(id), max(id) FROM tasks WHERE user_id = 1")
    assert db.fetchone() == (10_000, 1, 10_000)


@pytest.mark.parametrize("size", [0, 10_001])
def test_bulk_create_of_0_or_10001_items_is_422(client: TestClient, db, size: int) -> None:
    create_user(client, "alice")
    response = client.post("/users/1/tasks/bulk", json=titled(*(f"t{n}" for n in range(size))))
    assert [error["loc"] for error in expect_invalid(response)] == [["body"]]
    assert count_rows(db, "tasks") == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"title": "not a list"}, ["body"]),
        ([{"title": "ok"}, {"title": ""}], ["body", 1, "title"]),
        ([{"title": "ok"}, {"title": "bad", "priority": 6}], ["body", 1, "priority"]),
        ([{"title": "ok"}, {"title": "extra", "owner": 2}], ["body", 1, "owner"]),
        ([{"title": "ok"}, {}], ["body", 1, "title"]),
    ],
)
def test_bulk_create_with_one_invalid_item_is_422(client: TestClient, db, body, loc) -> None:
    create_user(client, "alice")
    detail = expect_invalid(client.post("/users/1/tasks/bulk", json=body))
    assert [error["loc"] for error in detail] == [loc]
    assert count_rows(db, "tasks") == 0


def test_bulk_create_with_a_title_twice_stores_nothing(client: TestClient, db) -> None:
    create_user(client, "alice")
    create_task(client, 1, "before")
    before = table_rows(db, "tasks")
    response = client.post("/users/1/tasks/bulk", json=titled("a", "b", "c", "b", "d"))
    expect_error(response, 409, errors.TITLE_TAKEN)
    assert table_rows(db, "tasks") == before


def test_bulk_create_with_a_title_already_taken_stores_nothing(client: TestClient, db) -> None:
    create_users(client, 2)
    create_task(client, 1, "taken")
    create_task(client, 2, "free for user 1")
    before = table_rows(db, "tasks")
    items = titled("new 1", "free for user 1", "new 2", "taken", "new 3")
    expect_error(client.post("/users/1/tasks/bulk", json=items), 409, errors.TITLE_TAKEN)
    assert table_rows(db, "tasks") == before


@pytest.mark.parametrize("user_id", [3, MAX_ID])
def test_bulk_create_for_unknown_user_stores_nothing(client: TestClient, db, user_id) -> None:
    create_users(client, 2)
    response = client.post(f"/users/{user_id}/tasks/bulk", json=titled("a", "b"))
    expect_error(response, 404, errors.USER_NOT_FOUND)
    assert count_rows(db, "tasks") == 0


# --- PATCH /tasks/bulk -------------------------------------------------------------------


@pytest.fixture
def four_tasks(client: TestClient) -> TestClient:
    """Users 1 and 2; tasks 1-3 of user 1 and task 4 of user 2, priority 1, not completed."""
    create_users(client, 2)
    create_tasks(client, 1, titled("a", "b", "c", priority=1))
    create_task(client, 2, "d", priority=1)
    return client


def _task(client: TestClient, task_id: int) -> dict:
    return expect(client.get(f"/tasks/{task_id}"), 200)


def test_bulk_update_changes_the_given_fields_of_each_task(four_tasks: TestClient) -> None:
    client = four_tasks
    items = [
        {"id": 3, "completed": True},
        {"id": 1, "priority": 5},
        {"id": 4, "completed": True, "priority": 0},
    ]
    assert expect(client.patch("/tasks/bulk", json=items), 200) == {"updated": 3}
    tasks = {t: _task(client, t) for t in range(1, 5)}
    changed = {t: (task["completed"], task["priority"]) for t, task in tasks.items()}
    assert changed == {1: (False, 5), 2: (False, 1), 3: (True, 1), 4: (True, 0)}
    assert _task(client, 2)["updated_at"] is None
    assert all(TIMESTAMP.fullmatch(_task(client, t)["updated_at"] or "") for t in (1, 3, 4))


def test_bulk_update_counts_every_item_even_without_changes(four_tasks: TestClient) -> None:
    items = [{"id": 1, "completed": True}, {"id": 2}, {"id": 3, "priority": 1}]
    assert expect(four_tasks.patch("/tasks/bulk", json=items), 200) == {"updated": 3}
    assert expect(four_tasks.patch("/tasks/bulk", json=[{"id": 4}]), 200) == {"updated": 1}
    assert _task(four_tasks, 1)["completed"] is True


@pytest.mark.parametrize(
    ("missing", "detail"),
    [
        ([9], f"{errors.TASK_NOT_FOUND}: 9"),
        ([MAX_ID, 7, 5], f"{errors.TASK_NOT_FOUND}: 5, 7, {MAX_ID}"),
    ],
)
def test_bulk_update_with_a_missing_id_changes_nothing(
    four_tasks: TestClient, db, missing: list[int], detail: str
) -> None:
    before = table_rows(db, "tasks")
    items = [{"id": 1, "completed": True}, *({"id": i, "priority": 4} for i in missing)]
    items.append({"id": 4, "priority": 5})
    expect_error(four_tasks.patch("/tasks/bulk", json=items), 404, detail)
    assert table_rows(db, "tasks") == before


def test_bulk_update_of_a_deleted_task_is_404(four_tasks: TestClient, db) -> None:
    expect(four_tasks.delete("/tasks/2"), 204)
    before = table_rows(db, "tasks")
    response = four_tasks.patch("/tasks/bulk", json=[{"id": 1, "priority": 0}, {"id": 2}])
    expect_error(response, 404, f"{errors.TASK_NOT_FOUND}: 2")
    assert table_rows(db, "tasks") == before


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ([], ["body"]),
        ({"id": 1, "completed": True}, ["body"]),
        ([{"id": 1, "completed": True}, {"id": 1, "priority": 2}], ["body"]),
        ([{"id": 2}, {"id": 3}, {"id": 2}], ["body"]),
        ([{"id": 1, "completed": True}, {"id": 2, "completed": None}], ["body", 1]),
        ([{"id": 1, "priority": None}], ["body", 0]),
        ([{"id": None, "priority": 1}], ["body", 0]),
        ([{"id": 1, "priority": 6}], ["body", 0, "priority"]),
        ([{"id": 1, "priority": -1}], ["body", 0, "priority"]),
        ([{"id": 1, "title": "not bulk-updatable"}], ["body", 0, "title"]),
        ([{"completed": True}], ["body", 0, "id"]),
        ([{"id": 0}], ["body", 0, "id"]),
        ([{"id": MAX_ID + 1}], ["body", 0, "id"]),
        ([{"id": "one"}], ["body", 0, "id"]),
    ],
)
def test_bad_bulk_update_is_422_and_changes_nothing(four_tasks: TestClient, db, body, loc) -> None:
    before = table_rows(db, "tasks")
    detail = expect_invalid(four_tasks.patch("/tasks/bulk", json=body))
    assert [error["loc"] for error in detail] == [loc]
    assert table_rows(db, "tasks") == before


def test_bulk_update_of_10001_items_is_422(four_tasks: TestClient) -> None:
    items = [{"id": n, "priority": 1} for n in range(1, 10_002)]
    assert [e["loc"] for e in expect_invalid(four_tasks.patch("/tasks/bulk", json=items))] == [
        ["body"]
    ]


def test_bulk_update_takes_10000_items(client: TestClient, db) -> None:
    create_user(client, "alice")
    create_tasks(client, 1, titled(*(f"t{n}" for n in range(10_000))))
    items = [{"id": n, "completed": n % 2 == 0} for n in range(1, 10_001)]
    assert expect(client.patch("/tasks/bulk", json=items), 200) == {"updated": 10_000}
    db.execute("SELECT count(*) FROM tasks WHERE completed = (id % 2 = 0)")
    assert db.fetchone() == (10_000,)
