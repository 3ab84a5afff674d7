"""GET /users/{id}/tasks: orderings, their tie-breaks, filters and paging."""

import pytest
from fastapi.testclient import TestClient

from implementations.contract import errors
from tests.contract.helpers import (
    MAX_ID,
    create_task,
    create_tasks,
    create_user,
    create_users,
    expect,
    expect_error,
    expect_invalid,
    ids,
    titled,
)


def _listed(client: TestClient, query: str = "", user_id: int = 1) -> list[int]:
    return ids(expect(client.get(f"/users/{user_id}/tasks{query}"), 200))


@pytest.fixture
def mixed(client: TestClient, db) -> TestClient:
    """User 1 with six tasks whose id, created_at, priority and title orders all disagree,
    with ties in created_at and priority; user 2 with one task that must never be listed."""
    create_users(client, 2)
    # id: title, priority, completed, created_at (set below, so ties are exact)
    rows = {
        1: ("b", 2, False, "2024-01-01 10:00:00+00"),
        2: ("B", 5, True, "2024-01-03 10:00:00+00"),
        3: ("a", 2, True, "2024-01-02 10:00:00+00"),
        4: ("_x", 0, False, "2024-01-03 10:00:00+00"),
        5: ("Z", 5, False, "2024-01-02 10:00:00+00"),
        6: ("\u00e9t\u00e9", 3, True, "2024-01-04 10:00:00+00"),  # "été": UTF-8 sorts it last
    }
    items = [
        {"title": title, "priority": priority, "completed": done}
        for title, priority, done, _ in rows.values()
    ]
    create_tasks(client, 1, items)
    create_task(client, 2, "other user's", priority=5, completed=True)
    for task_id, (*_, created_at) in rows.items():
        db.execute("UPDATE tasks SET created_at = %s WHERE id = %s", (created_at, task_id))
    return client


def test_default_order_is_newest_first_ties_by_id_descending(mixed: TestClient) -> None:
    assert _listed(mixed) == [6, 4, 2, 5, 3, 1]
    assert _listed(mixed, "?sort_by=created_at") == [6, 4, 2, 5, 3, 1]


def test_priority_order_is_highest_first_ties_by_id_ascending(mixed: TestClient) -> None:
    assert _listed(mixed, "?sort_by=priority") == [2, 5, 6, 1, 3, 4]


def test_title_order_is_byte_order(mixed: TestClient) -> None:
    # COLLATE "C": "B" < "Z" < "_x" < "a" < "b" < "été", whatever the database's locale.
    assert _listed(mixed, "?sort_by=title") == [2, 5, 4, 3, 1, 6]


def test_tasks_created_together_list_newest_first_by_id(client: TestClient) -> None:
    create_user(client, "alice")
    create_task(client, 1, "alone, earlier")
    create_tasks(client, 1, titled("x", "y", "z"))  # one transaction: one created_at
    assert _listed(client) == [4, 3, 2, 1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?completed=true", [6, 2, 3]),
        ("?completed=false", [4, 5, 1]),
        ("?priority_min=3", [6, 2, 5]),
        ("?priority_min=5", [2, 5]),
        ("?priority_min=0", [6, 4, 2, 5, 3, 1]),
        ("?completed=false&priority_min=2", [5, 1]),
        ("?completed=true&priority_min=2&sort_by=priority", [2, 6, 3]),
        ("?completed=false&sort_by=title", [5, 4, 1]),
        ("?priority_min=2&sort_by=title", [2, 5, 3, 1, 6]),
        ("?completed=true&priority_min=5&sort_by=title", [2]),
        ("?completed=false&priority_min=4&sort_by=title", [5]),
    ],
)
def test_filters_combine_with_each_order(mixed: TestClient, query: str, expected: list) -> None:
    assert _listed(mixed, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?limit=2", [6, 4]),
        ("?skip=2&limit=2", [2, 5]),
        ("?skip=5", [1]),
        ("?skip=6", []),
        ("?sort_by=title&skip=1&limit=3", [5, 4, 3]),
        ("?sort_by=priority&completed=false&skip=1&limit=1", [1]),
    ],
)
def test_paging_applies_after_filter_and_order(mixed: TestClient, query: str, expected) -> None:
    assert _listed(mixed, query) == expected


def test_default_limit_is_100(client: TestClient) -> None:
    create_user(client, "alice")
    create_tasks(client, 1, titled(*(f"t{n:03}" for n in range(105))))
    assert _listed(client) == list(range(105, 5, -1))
    assert _listed(client, "?skip=100") == [5, 4, 3, 2, 1]
    assert len(_listed(client, "?limit=100")) == 100


def test_user_without_tasks_lists_nothing(client: TestClient) -> None:
    create_users(client, 2)
    create_task(client, 2, "not yours")
    assert _listed(client) == []
    assert _listed(client, "?completed=false&priority_min=0&sort_by=title") == []


@pytest.mark.parametrize("query", ["", "?completed=true&sort_by=title"])
@pytest.mark.parametrize("user_id", [1, MAX_ID])
def test_tasks_of_unknown_user_is_404(client: TestClient, user_id: int, query: str) -> None:
    expect_error(client.get(f"/users/{user_id}/tasks{query}"), 404, errors.USER_NOT_FOUND)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort_by=drop table", "sort_by"),
        ("sort_by=id", "sort_by"),
        ("sort_by=", "sort_by"),
        ("sort_by=Title", "sort_by"),
        ("sort_by=title desc", "sort_by"),
        ("sort_by=created_at;DELETE FROM tasks", "sort_by"),
        ("priority_min=-1", "priority_min"),
        ("priority_min=6", "priority_min"),
        ("priority_min=high", "priority_min"),
        ("completed=maybe", "completed"),
        ("skip=-1", "skip"),
        ("skip=2147483648", "skip"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_bad_query_parameters_are_422(client: TestClient, db, query: str, field: str) -> None:
    create_user(client, "alice")
    create_task(client, 1, "survives")
    detail = expect_invalid(client.get("/users/1/tasks", params=dict([query.split("=", 1)])))
    assert [error["loc"] for error in detail] == [["query", field]]
    db.execute("SELECT count(*) FROM tasks")
    assert db.fetchone() == (1,)
