"""POST /tasks/{id}/transfer: the task and one transfer_logs row move together, or nothing."""

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    TASK_KEYS,
    TIMESTAMP,
    count_rows,
    create_task,
    create_users,
    expect,
    expect_error,
    expect_invalid,
    table_rows,
)


@pytest.fixture
def three_users(client: TestClient) -> TestClient:
    """Users 1-3; task 1 "report" and task 2 "shared" of user 1; task 3 "shared" of user 2."""
    create_users(client, 3)
    create_task(client, 1, "report", description="q3", priority=4)
    create_task(client, 1, "shared")
    create_task(client, 2, "shared")
    return client


def _transfer(client: TestClient, task_id: int, from_user: int, to_user: int):
    body = {"from_user_id": from_user, "to_user_id": to_user}
    return client.post(f"/tasks/{task_id}/transfer", json=body)


def _logs(db) -> list[tuple]:
    db.execute("SELECT task_id, from_user_id, to_user_id FROM transfer_logs ORDER BY id")
    return db.fetchall()


def _owner(db, task_id: int) -> int:
    db.execute("SELECT user_id FROM tasks WHERE id = %s", (task_id,))
    return db.fetchone()[0]


def test_transfer_moves_the_task_and_writes_one_log_row(three_users: TestClient, db) -> None:
    before = expect(three_users.get("/tasks/1"), 200)
    moved = expect(_transfer(three_users, 1, 1, 2), 200)
    assert set(moved) == TASK_KEYS
    assert moved == {**before, "user_id": 2, "updated_at": moved["updated_at"]}
    assert TIMESTAMP.fullmatch(moved["updated_at"]), moved
    assert expect(three_users.get("/tasks/1"), 200) == moved
    assert _logs(db) == [(1, 1, 2)]
    db.execute("SELECT created_at FROM transfer_logs")
    assert db.fetchone()[0] is not None
    assert [t["id"] for t in expect(three_users.get("/users/2/tasks"), 200)] == [3, 1]
    assert [t["id"] for t in expect(three_users.get("/users/1/tasks"), 200)] == [2]


def test_transfer_back_and_on_logs_each_move(three_users: TestClient, db) -> None:
    expect(_transfer(three_users, 1, 1, 2), 200)
    expect(_transfer(three_users, 1, 2, 3), 200)
    assert expect(_transfer(three_users, 1, 3, 1), 200)["user_id"] == 1
    assert _logs(db) == [(1, 1, 2), (1, 2, 3), (1, 3, 1)]


@pytest.mark.parametrize(
    ("task_id", "from_user", "to_user", "detail"),
    [
        (3, 1, 2, errors.TASK_NOT_FOUND),  # task 3 belongs to user 2, not to the sender
        (1, 2, 3, errors.TASK_NOT_FOUND),
        (9, 1, 2, errors.TASK_NOT_FOUND),
        (MAX_ID, 1, 2, errors.TASK_NOT_FOUND),
        (1, 1, 4, errors.USER_NOT_FOUND),  # unknown receiver
        (1, 4, 1, errors.USER_NOT_FOUND),  # unknown sender
        (1, 1, MAX_ID, errors.USER_NOT_FOUND),
        (1, 4, 5, errors.USER_NOT_FOUND),
    ],
)
def test_failed_transfer_is_404_and_changes_nothing(
    three_users: TestClient, db, task_id: int, from_user: int, to_user: int, detail: str
) -> None:
    before = table_rows(db, "tasks")
    expect_error(_transfer(three_users, task_id, from_user, to_user), 404, detail)
    assert table_rows(db, "tasks") == before
    assert _logs(db) == []


def test_title_clash_at_the_receiver_is_409_and_changes_nothing(three_users, db) -> None:
    before = table_rows(db, "tasks")
    expect_error(_transfer(three_users, 2, 1, 2), 409, errors.TITLE_TAKEN)
    assert _owner(db, 2) == 1
    assert table_rows(db, "tasks") == before
    assert _logs(db) == []
    # The same title may go to a user who does not have it.
    assert expect(_transfer(three_users, 2, 1, 3), 200)["user_id"] == 3
    assert _logs(db) == [(2, 1, 3)]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"from_user_id": 1, "to_user_id": 1}, ["body"]),
        ({"from_user_id": 2, "to_user_id": 2}, ["body"]),
        ({"from_user_id": 1}, ["body", "to_user_id"]),
        ({"to_user_id": 2}, ["body", "from_user_id"]),
        ({"from_user_id": 0, "to_user_id": 2}, ["body", "from_user_id"]),
        ({"from_user_id": 1, "to_user_id": MAX_ID + 1}, ["body", "to_user_id"]),
        ({"from_user_id": 1, "to_user_id": None}, ["body", "to_user_id"]),
        ({"from_user_id": "one", "to_user_id": 2}, ["body", "from_user_id"]),
        ({"from_user_id": 1, "to_user_id": 2, "note": "x"}, ["body", "note"]),
    ],
)
def test_bad_transfer_body_is_422(three_users: TestClient, db, body: dict, loc: list) -> None:
    detail = expect_invalid(three_users.post("/tasks/1/transfer", json=body))
    assert [error["loc"] for error in detail] == [loc]
    assert _owner(db, 1) == 1
    assert _logs(db) == []


def test_logs_outlive_the_task_and_users_with_nulls(three_users: TestClient, db) -> None:
    expect(_transfer(three_users, 1, 1, 2), 200)
    expect(_transfer(three_users, 2, 1, 3), 200)
    expect(three_users.delete("/users/1"), 204)  # the sender of both
    assert _logs(db) == [(1, None, 2), (2, None, 3)]
    expect(three_users.delete("/tasks/2"), 204)
    assert _logs(db) == [(1, None, 2), (None, None, 3)]
    expect(three_users.delete("/users/2"), 204)  # the receiver, and by cascade task 1
    expect_error(three_users.get("/tasks/1"), 404, errors.TASK_NOT_FOUND)
    assert _logs(db) == [(None, None, None), (None, None, 3)]
    assert count_rows(db, "transfer_logs") == 2
