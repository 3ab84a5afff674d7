"""Every implementation answers one scripted conversation exactly like the first one.

The script (users, tasks, filters, sorts, stats, bulk create and update, transfer, and every
error case) is sent to each implementation in turn, on empty tables. Each answer is recorded
as (method, path, status, body), with timestamps replaced by a placeholder and ids kept, then
the database's final rows are added; every transcript must equal the reference's (the
registry's first implementation). Each step also states the status it must have, so the
transcript is checked even while only one implementation exists.

Ids are deterministic: tables are truncated with RESTART IDENTITY before each run, and after
every refused request the id sequences are set back to where they were before it. A refused
INSERT may or may not have drawn ids (a multi-row INSERT, an executemany and a COPY stop at
different rows), and how many it drew is no part of the contract.
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from implementations import IMPLEMENTATIONS, create_app
from implementations.contract import errors
from tests.conftest import TABLES
from tests.contract.conftest import settings_for
from tests.contract.helpers import TIMESTAMP, send_json_text, titled, user_body

TIMESTAMP_PLACEHOLDER = "<timestamp>"
IMPLEMENTATION_PLACEHOLDER = "<implementation>"


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    status: int
    json: Any = None
    text: str | None = None  # sent as the raw JSON body instead of ``json``

    def send(self, client: TestClient):
        if self.text is not None:
            return send_json_text(client, self.method, self.path, self.text)
        return client.request(self.method, self.path, json=self.json)


def _transfer(task_id: int, from_user: Any, to_user: Any, status: int) -> Step:
    body = {"from_user_id": from_user, "to_user_id": to_user}
    return Step("POST", f"/tasks/{task_id}/transfer", status, body)


# Users 1 alice, 2 bob, 3 carol. Tasks: 1 "write" (alice), 2 "read" (alice), 3 "write" (bob),
# 4 "read" (bob), 5-9 alice's bulk "B", "a", "b", "Z", "_x".
SCRIPT: list[Step] = [
    Step("GET", "/health", 200),
    # --- users ---
    Step("POST", "/users", 201, user_body("alice", email="Alice@Example.COM")),
    Step("POST", "/users", 201, user_body("bob")),
    Step("POST", "/users", 201, user_body("carol")),
    Step("POST", "/users", 409, user_body("alice2", email="ALICE@example.com")),
    Step("POST", "/users", 409, user_body("bob", email="bob2@example.com")),
    Step("POST", "/users", 422, user_body("dave", email="not-an-email")),
    Step("POST", "/users", 422, user_body("dave", password="short")),
    Step("POST", "/users", 422, user_body("dave", password="p" * 129)),
    Step("POST", "/users", 422, user_body("dave", password=12345678)),
    Step("POST", "/users", 422, user_body("d" * 51)),
    Step("POST", "/users", 422, user_body("da ve")),
    Step("POST", "/users", 422, {"password": "long enough pass"}),
    Step("POST", "/users", 422, user_body("dave", is_admin=True)),
    Step("POST", "/users", 422, user_body("dave", email="d\x00@example.com")),
    Step("POST", "/users", 422, text='{"email": "d\\ud800@example.com", "username": "dave"}'),
    Step("POST", "/users", 422, ["not", "an", "object"]),
    Step("POST", "/users", 422, text='{"email": '),
    Step("GET", "/users", 200),
    Step("GET", "/users?skip=1&limit=1", 200),
    Step("GET", "/users?limit=0", 422),
    Step("GET", "/users?limit=101", 422),
    Step("GET", "/users?skip=-1", 422),
    Step("GET", "/users/1", 200),
    Step("GET", "/users/99", 404),
    Step("GET", "/users/2147483647", 404),
    Step("GET", "/users/0", 422),
    Step("GET", "/users/2147483648", 422),
    Step("GET", "/users/abc", 422),
    Step("PATCH", "/users/1", 200, {"username": "alice_2"}),
    Step("PATCH", "/users/1", 200, {}),
    Step("PATCH", "/users/2", 200, {"password": "bob's new password", "is_active": False}),
    Step("PATCH", "/users/1", 409, {"email": "BOB@example.com"}),
    Step("PATCH", "/users/1", 409, {"username": "bob"}),
    Step("PATCH", "/users/1", 422, {"email": None}),
    Step("PATCH", "/users/1", 422, {"password": "short"}),
    Step("PATCH", "/users/1", 422, {"is_active": "maybe"}),
    Step("PATCH", "/users/1", 422, {"is_admin": True}),
    Step("PATCH", "/users/99", 404, {"is_active": False}),
    Step("PATCH", "/users/0", 422, {"is_active": False}),
    # --- tasks ---
    Step("POST", "/users/1/tasks", 201, {"title": "write"}),
    Step("POST", "/users/1/tasks", 201, {"title": "read", "description": "d", "priority": 5}),
    Step("POST", "/users/1/tasks", 409, {"title": "write"}),
    Step("POST", "/users/2/tasks", 201, {"title": "write", "completed": True, "priority": 2}),
    Step("POST", "/users/2/tasks", 201, {"title": "read", "description": None}),
    Step("POST", "/users/99/tasks", 404, {"title": "orphan"}),
    Step("POST", "/users/2147483647/tasks", 404, {"title": "orphan"}),
    Step("POST", "/users/1/tasks", 422, {"title": ""}),
    Step("POST", "/users/1/tasks", 422, {"title": "t" * 256}),
    Step("POST", "/users/1/tasks", 422, {"title": "x", "priority": 6}),
    Step("POST", "/users/1/tasks", 422, {"title": "x", "priority": -1}),
    Step("POST", "/users/1/tasks", 422, {"title": "x", "description": "d" * 10_001}),
    Step("POST", "/users/1/tasks", 422, {"title": "x", "user_id": 2}),
    Step("POST", "/users/1/tasks", 422, {"title": "a\x00b"}),
    Step("POST", "/users/1/tasks", 422, text='{"title": "a\\ud800b"}'),
    Step("POST", "/users/1/tasks", 422, {"description": "no title"}),
    Step("POST", "/users/0/tasks", 422, {"title": "x"}),
    # --- bulk create ---
    Step(
        "POST",
        "/users/1/tasks/bulk",
        201,
        [
            {"title": "B", "priority": 3},
            {"title": "a", "priority": 3, "completed": True},
            {"title": "b", "priority": 1, "description": "lower b"},
            {"title": "Z", "priority": 0},
            {"title": "_x", "priority": 4, "completed": True},
        ],
    ),
    Step("POST", "/users/1/tasks/bulk", 409, titled("new 1", "new 2", "new 1")),
    Step("POST", "/users/1/tasks/bulk", 409, titled("new 1", "write")),
    Step("POST", "/users/99/tasks/bulk", 404, titled("new 1")),
    Step("POST", "/users/1/tasks/bulk", 422, []),
    Step("POST", "/users/1/tasks/bulk", 422, titled(*["same"] * 10_001)),
    Step("POST", "/users/1/tasks/bulk", 422, [{"title": "ok"}, {"title": "bad", "priority": 9}]),
    Step("POST", "/users/1/tasks/bulk", 422, {"title": "not a list"}),
    # --- listing, filters, sorts ---
    Step("GET", "/users/1/tasks", 200),
    Step("GET", "/users/1/tasks?sort_by=created_at", 200),
    Step("GET", "/users/1/tasks?sort_by=priority", 200),
    Step("GET", "/users/1/tasks?sort_by=title", 200),
    Step("GET", "/users/1/tasks?completed=true", 200),
    Step("GET", "/users/1/tasks?completed=false&priority_min=3", 200),
    Step("GET", "/users/1/tasks?priority_min=3&sort_by=title&skip=1&limit=2", 200),
    Step("GET", "/users/1/tasks?sort_by=priority&skip=6", 200),
    Step("GET", "/users/3/tasks", 200),
    Step("GET", "/users/99/tasks", 404),
    Step("GET", "/users/1/tasks?sort_by=drop table", 422),
    Step("GET", "/users/1/tasks?sort_by=id", 422),
    Step("GET", "/users/1/tasks?priority_min=6", 422),
    Step("GET", "/users/1/tasks?priority_min=-1", 422),
    Step("GET", "/users/1/tasks?completed=maybe", 422),
    Step("GET", "/users/1/tasks?limit=101", 422),
    Step("GET", "/tasks/1", 200),
    Step("GET", "/tasks/999", 404),
    Step("GET", "/tasks/0", 422),
    Step("GET", "/tasks/-1", 422),
    # --- one task ---
    Step("PATCH", "/tasks/1", 200, {"title": "write more", "description": "why"}),
    Step("PATCH", "/tasks/1", 200, {"description": None}),
    Step("PATCH", "/tasks/6", 200, {}),
    Step("PATCH", "/tasks/1", 409, {"title": "read"}),
    Step("PATCH", "/tasks/1", 422, {"title": None}),
    Step("PATCH", "/tasks/1", 422, {"priority": 9}),
    Step("PATCH", "/tasks/1", 422, {"completed": None}),
    Step("PATCH", "/tasks/1", 422, {"user_id": 2}),
    Step("PATCH", "/tasks/999", 404, {"completed": True}),
    Step("PATCH", "/tasks/2147483648", 422, {"completed": True}),
    # --- bulk update ---
    Step("PATCH", "/tasks/bulk", 200, [{"id": 5, "completed": True}, {"id": 8, "priority": 5}]),
    Step("PATCH", "/tasks/bulk", 200, [{"id": 6, "completed": False, "priority": 0}, {"id": 7}]),
    Step("PATCH", "/tasks/bulk", 404, [{"id": 5, "completed": False}, {"id": 998}, {"id": 97}]),
    Step("PATCH", "/tasks/bulk", 422, [{"id": 5}, {"id": 5}]),
    Step("PATCH", "/tasks/bulk", 422, []),
    Step("PATCH", "/tasks/bulk", 422, [{"id": 5, "completed": None}]),
    Step("PATCH", "/tasks/bulk", 422, [{"id": 0}]),
    Step("PATCH", "/tasks/bulk", 422, [{"id": 5, "title": "no"}]),
    Step("PATCH", "/tasks/bulk", 422, [{"id": n} for n in range(1, 10_002)]),
    # --- stats and users with tasks ---
    Step("GET", "/users/1/stats", 200),
    Step("GET", "/users/2/stats", 200),
    Step("GET", "/users/3/stats", 200),
    Step("GET", "/users/99/stats", 404),
    Step("GET", "/users/with-tasks", 200),
    Step("GET", "/users/with-tasks?skip=1&limit=1", 200),
    Step("GET", "/users/with-tasks?limit=101", 422),
    Step("GET", "/users/with-tasks?skip=-1", 422),
    Step("GET", "/users/1/with-tasks", 200),
    Step("GET", "/users/3/with-tasks", 200),
    Step("GET", "/users/99/with-tasks", 404),
    # --- transfer ---
    _transfer(1, 1, 3, 200),
    _transfer(1, 1, 3, 404),  # no longer the sender's
    _transfer(999, 1, 3, 404),
    _transfer(2, 1, 99, 404),
    _transfer(2, 99, 1, 404),
    _transfer(999, 98, 99, 404),
    _transfer(2, 1, 2, 409),  # bob has a "read" too
    _transfer(2, 1, 1, 422),
    _transfer(2, 0, 3, 422),
    Step("POST", "/tasks/2/transfer", 422, {"from_user_id": 1}),
    Step("POST", "/tasks/2/transfer", 422, {"from_user_id": 1, "to_user_id": 3, "why": "x"}),
    _transfer(2, 1, 3, 200),
    Step("GET", "/tasks/1", 200),
    Step("GET", "/users/3/with-tasks", 200),
    Step("GET", "/users/1/stats", 200),
    # --- deletes ---
    Step("DELETE", "/tasks/5", 204),
    Step("GET", "/tasks/5", 404),
    Step("DELETE", "/tasks/5", 404),
    Step("DELETE", "/tasks/0", 422),
    Step("DELETE", "/users/3", 204),  # the receiver: its tasks go, the log rows stay
    Step("GET", "/users/3", 404),
    Step("GET", "/tasks/1", 404),
    Step("DELETE", "/users/3", 404),
    Step("DELETE", "/users/abc", 422),
    Step("GET", "/users", 200),
    Step("GET", "/users/with-tasks", 200),
    Step("GET", "/users/1/stats", 200),
    Step("POST", "/users", 201, user_body("carol")),  # free again
]


def _normalise(value: Any, implementation: str) -> Any:
    """``value`` with timestamps (checked first) replaced by a placeholder, and the health
    answer's implementation name (checked first) by another."""
    if isinstance(value, list):
        return [_normalise(item, implementation) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key in {"created_at", "updated_at"} and isinstance(item, str):
            assert TIMESTAMP.fullmatch(item), f"{key}={item!r} is not UTC ISO 8601 with Z"
            item = TIMESTAMP_PLACEHOLDER
        elif key == "implementation":
            assert item == implementation
            item = IMPLEMENTATION_PLACEHOLDER
        result[key] = _normalise(item, implementation)
    return result


def _sequences(db: Any) -> list[tuple[str, int, bool]]:
    """Each table's id sequence with its (last_value, is_called): what ``setval`` restores."""
    state = []
    for table in TABLES:
        db.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
        sequence = db.fetchone()[0]
        db.execute(f"SELECT last_value, is_called FROM {sequence}")  # a name from the catalog
        state.append((sequence, *db.fetchone()))
    return state


def _restore(db: Any, sequences: list[tuple[str, int, bool]]) -> None:
    for sequence, last_value, is_called in sequences:
        db.execute("SELECT setval(%s, %s, %s)", (sequence, last_value, is_called))


def _final_rows(db: Any) -> dict[str, list]:
    db.execute("SELECT id, email, username, is_active, updated_at IS NULL FROM users ORDER BY id")
    users = db.fetchall()
    db.execute(
        "SELECT id, user_id, title, description, completed, priority, updated_at IS NULL"
        " FROM tasks ORDER BY id"
    )
    tasks = db.fetchall()
    db.execute("SELECT id, task_id, from_user_id, to_user_id FROM transfer_logs ORDER BY id")
    logs = db.fetchall()
    return {"users": users, "tasks": tasks, "transfer_logs": logs}


def _run(implementation: str, database_url: str, db: Any) -> list[dict[str, Any]]:
    db.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    transcript = []
    app = create_app(implementation, settings_for(database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        for number, step in enumerate(SCRIPT):
            sequences = _sequences(db)
            response = step.send(client)
            body = response.json() if response.content else None
            transcript.append(
                {
                    "step": number,
                    "request": f"{step.method} {step.path}",
                    "status": response.status_code,
                    "body": _normalise(body, implementation),
                }
            )
            if response.status_code >= 400:
                _restore(db, sequences)
    rows = {key: [list(row) for row in value] for key, value in _final_rows(db).items()}
    transcript.append({"step": len(SCRIPT), "request": "final rows", "status": None, "body": rows})
    return transcript


def _wrong_statuses(transcript: list[dict[str, Any]]) -> list[str]:
    return [
        f"step {entry['step']} {entry['request']}: {entry['status']}, expected {step.status}:"
        f" {json.dumps(entry['body'])[:300]}"
        for entry, step in zip(transcript, SCRIPT, strict=False)
        if entry["status"] != step.status
    ]


def _first_difference(
    reference: str, expected: list[dict], implementation: str, actual: list[dict]
) -> str | None:
    for mine, theirs in zip(expected, actual, strict=True):
        if mine != theirs:
            return (
                f"{implementation} differs from {reference} first at step {mine['step']}"
                f" ({mine['request']}):\n"
                f"  {reference}: {mine['status']} {json.dumps(mine['body'])[:1500]}\n"
                f"  {implementation}: {theirs['status']} {json.dumps(theirs['body'])[:1500]}"
            )
    return None


def _implementations(config: pytest.Config) -> list[str]:
    """The registry's first (the reference) and those chosen with --impl (default: all)."""
    reference = next(iter(IMPLEMENTATIONS))
    chosen = config.getoption("--impl") or list(IMPLEMENTATIONS)
    return [reference, *(name for name in chosen if name != reference)]


def test_every_implementation_answers_the_script_alike(
    request: pytest.FixtureRequest, database_url: str, db: Any
) -> None:
    names = _implementations(request.config)
    transcripts = {name: _run(name, database_url, db) for name in names}

    problems = []
    for name, transcript in transcripts.items():
        problems += [f"{name}: {wrong}" for wrong in _wrong_statuses(transcript)]
    reference, expected = next(iter(transcripts.items()))
    for name, transcript in transcripts.items():
        if difference := _first_difference(reference, expected, name, transcript):
            problems.append(difference)
    assert not problems, "\n".join(problems)

    _check_reference_transcript(expected)


def _body(transcript: list[dict], method_path: str, occurrence: int = 0) -> Any:
    return [e["body"] for e in transcript if e["request"] == method_path][occurrence]


def _check_reference_transcript(transcript: list[dict]) -> None:
    """A few facts of the contract, read from the transcript itself."""
    assert _body(transcript, "GET /health")["implementation"] == IMPLEMENTATION_PLACEHOLDER
    assert _body(transcript, "POST /users", 0)["email"] == "alice@example.com"
    assert _body(transcript, "POST /users", 3) == {"detail": errors.EMAIL_TAKEN}
    assert [t["title"] for t in _body(transcript, "GET /users/1/tasks?sort_by=title")] == [
        "B",
        "Z",
        "_x",
        "a",
        "b",
        "read",
        "write",
    ]
    assert _body(transcript, "GET /users/3/stats") == {
        "total": 0,
        "completed": 0,
        "pending": 0,
        "avg_priority": 0.0,
    }
    final = transcript[-1]["body"]
    # Both tasks went to user 3, whose deletion took them: the log keeps only the sender.
    assert final["transfer_logs"] == [[1, None, 1, None], [2, None, 1, None]]
    assert [row[0] for row in final["users"]] == [1, 2, 4]
