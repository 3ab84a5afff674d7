"""GET /users/with-tasks and GET /users/{id}/with-tasks: users with their tasks, by id."""

from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    TASK_KEYS,
    USER_KEYS,
    create_task,
    create_tasks,
    create_user,
    create_users,
    expect,
    expect_error,
    ids,
    titled,
)


def _three_tasks_out_of_title_and_priority_order(client: TestClient, user_id: int) -> None:
    create_task(client, user_id, "zeta", priority=1)
    create_task(client, user_id, "alpha", priority=5)
    create_task(client, user_id, "mid", priority=3)


def test_user_with_tasks_is_the_user_plus_its_tasks_by_id(client: TestClient) -> None:
    user = create_user(client, "alice")
    create_user(client, "bob")
    _three_tasks_out_of_title_and_priority_order(client, 1)
    create_task(client, 2, "bob's")
    create_task(client, 1, "late")
    body = expect(client.get("/users/1/with-tasks"), 200)
    assert set(body) == USER_KEYS | {"tasks"}
    assert {k: v for k, v in body.items() if k != "tasks"} == user
    assert ids(body["tasks"]) == [1, 2, 3, 5]
    assert all(set(task) == TASK_KEYS and task["user_id"] == 1 for task in body["tasks"])
    assert body["tasks"][0] == expect(client.get("/tasks/1"), 200)


def test_user_with_no_tasks_has_an_empty_list(client: TestClient) -> None:
    create_user(client, "alice")
    assert expect(client.get("/users/1/with-tasks"), 200)["tasks"] == []


def test_user_with_tasks_of_unknown_user_is_404(client: TestClient) -> None:
    for user_id in (1, MAX_ID):
        expect_error(client.get(f"/users/{user_id}/with-tasks"), 404, errors.USER_NOT_FOUND)


def test_users_with_tasks_are_ordered_by_id_with_tasks_by_id(client: TestClient) -> None:
    create_users(client, 3)
    _three_tasks_out_of_title_and_priority_order(client, 3)
    create_task(client, 1, "first user's")
    create_tasks(client, 3, titled("b", "a"))
    expect(client.patch("/users/1", json={"is_active": False}), 200)  # moves its row last
    body = expect(client.get("/users/with-tasks"), 200)
    assert ids(body) == [1, 2, 3]
    assert [ids(user["tasks"]) for user in body] == [[4], [], [1, 2, 3, 5, 6]]
    assert body[0] == expect(client.get("/users/1/with-tasks"), 200)
    assert body[2] == expect(client.get("/users/3/with-tasks"), 200)


def test_users_with_tasks_pages_with_skip_and_limit(client: TestClient) -> None:
    create_users(client, 4)
    for user_id in (1, 2, 3, 4):
        create_task(client, user_id, f"of {user_id}")
    body = expect(client.get("/users/with-tasks?skip=1&limit=2"), 200)
    assert ids(body) == [2, 3]
    assert [ids(user["tasks"]) for user in body] == [[2], [3]]
    assert expect(client.get("/users/with-tasks?skip=4"), 200) == []


def test_users_with_tasks_on_no_users_is_empty(client: TestClient) -> None:
    assert expect(client.get("/users/with-tasks"), 200) == []


def test_users_with_tasks_default_limit_is_100(client: TestClient, db) -> None:
    db.execute(
        "INSERT INTO users (email, username, hashed_password)"
        " SELECT 'u' || n || '@example.com', 'user' || n, 'x' FROM generate_series(1, 101) n"
    )
    create_task(client, 101, "last user's")
    body = expect(client.get("/users/with-tasks"), 200)
    assert ids(body) == list(range(1, 101))
    assert ids(expect(client.get("/users/with-tasks?skip=100"), 200)[0]["tasks"]) == [1]
