"""``X-Query-Count`` agrees with what PostgreSQL itself executed (pg_stat_statements).

The header is the implementation's own count, fed from its driver hook; this test checks that
hook against the server. A scripted sequence of requests is sent to the implementation, the
headers are summed, and the sum must equal the calls pg_stat_statements recorded for the test
database over the same stretch, minus what the contract does not count.

What is compared, precisely (``_counted``):

- only this test database's entries (``pg_stat_statements.dbid`` joined to ``pg_database``);
- only top-level statements (``toplevel``): with ``pg_stat_statements.track = all`` (as the
  embedded server runs) PostgreSQL also records what runs *inside* a statement, such as the
  foreign-key checks and the ON DELETE CASCADE / SET NULL actions, which no client sent;
- not transaction control (BEGIN, START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE),
  not session settings (SET, RESET, SHOW, DISCARD, or a SELECT calling ``set_config()``, as
  asyncpg does to switch JIT off around its type introspection);
- not asyncpg's connection reset on release to its pool (``SELECT pg_advisory_unlock_all();
  CLOSE ALL; UNLISTEN *; RESET ALL;``, recorded as four entries);
- not driver type introspection: any statement reading ``pg_catalog.pg_type`` (asyncpg's
  INTRO_LOOKUP_TYPES and TYPE_BY_NAME; the API itself never reads the catalog);
- not this test's own monitoring queries, all of which name ``pg_stat_statements`` or
  ``pg_stat_activity``.

pg_stat_statements records a statement when it completes, so the script holds only requests
that succeed and 404s whose statements all complete (no 409: its failed INSERT or UPDATE is
sent, and counted by the header, but never completes). A statement is recorded when its
portal closes, which for a statement inside a transaction can be as late as the COMMIT or
ROLLBACK that ends it, possibly after the response when a pool releases its connection. So
both the reset and the reading wait until the app has released its connections: every other
backend on the test database is ``idle`` (not active, not inside a transaction).
"""

import re
import time
from typing import Any

import psycopg2
import psycopg2.errors
import pytest
from fastapi.testclient import TestClient

from tests.contract.helpers import statements, titled, user_body

NOT_COUNTED = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
    | {"SET", "RESET", "SHOW", "DISCARD"}
    | {"CLOSE", "UNLISTEN"}  # with RESET ALL: asyncpg's reset of a released connection
)
POOL_RESET_SELECT = "SELECT pg_advisory_unlock_all()"
MONITORING = ("pg_stat_statements", "pg_stat_activity")
_LEADING = re.compile(r"(?:\s+|--[^\n]*\n|/\*.*?\*/|\()*", re.DOTALL)
# Settings under which every statement the app sends is recorded (PostgreSQL's defaults are
# top and on; the embedded server runs all and on).
TRACKING = {
    "pg_stat_statements.track": ("top", "all"),
    "pg_stat_statements.track_utility": ("on",),  # COPY is a utility statement
}
WAIT_SECONDS = 15.0  # a bound on waiting for backends, not a timing assertion

# (method, path, body, status): successes and 404s whose statements all complete.
SCRIPT: list[tuple[str, str, Any, int]] = [
    ("GET", "/health", None, 200),
    ("POST", "/users", user_body("alice"), 201),
    ("POST", "/users", user_body("bob"), 201),
    ("POST", "/users", user_body("carol"), 201),
    ("GET", "/users", None, 200),
    ("GET", "/users?skip=1&limit=1", None, 200),
    ("GET", "/users/1", None, 200),
    ("PATCH", "/users/1", {"username": "alice2", "email": "Alice2@example.com"}, 200),
    ("PATCH", "/users/2", {"password": "a new password"}, 200),
    ("POST", "/users/1/tasks", {"title": "a", "priority": 3}, 201),
    ("POST", "/users/1/tasks", {"title": "b", "completed": True, "description": "d"}, 201),
    ("POST", "/users/1/tasks/bulk", titled("c", "d", "e", "f", "g", priority=2), 201),
    ("POST", "/users/2/tasks/bulk", titled(*(f"t{n}" for n in range(1_500))), 201),
    ("GET", "/users/1/tasks", None, 200),
    ("GET", "/users/1/tasks?sort_by=priority&completed=false", None, 200),
    ("GET", "/users/1/tasks?sort_by=title&priority_min=2&skip=1&limit=2", None, 200),
    ("GET", "/users/3/tasks", None, 200),
    ("GET", "/tasks/1", None, 200),
    ("PATCH", "/tasks/1", {"title": "a2", "description": None}, 200),
    ("PATCH", "/tasks/2", {}, 200),
    ("PATCH", "/tasks/bulk", [{"id": 1, "completed": True}, {"id": 3}, {"id": 4}], 200),
    ("PATCH", "/tasks/bulk", [{"id": n, "priority": n % 6} for n in range(10, 40)], 200),
    ("GET", "/users/1/stats", None, 200),
    ("GET", "/users/3/stats", None, 200),
    ("GET", "/users/with-tasks", None, 200),
    ("GET", "/users/with-tasks?skip=2&limit=1", None, 200),
    ("GET", "/users/1/with-tasks", None, 200),
    ("POST", "/tasks/1/transfer", {"from_user_id": 1, "to_user_id": 3}, 200),
    ("DELETE", "/tasks/2", None, 204),
    ("DELETE", "/users/2", None, 204),
    ("GET", "/users/99", None, 404),
    ("GET", "/tasks/9999", None, 404),
    ("GET", "/users/99/stats", None, 404),
    ("GET", "/users/99/with-tasks", None, 404),
    ("GET", "/users/99/tasks", None, 404),
    ("PATCH", "/users/99", {"is_active": False}, 404),
    ("PATCH", "/tasks/9999", {"completed": True}, 404),
    ("DELETE", "/users/99", None, 404),
    ("DELETE", "/tasks/9999", None, 404),
    ("PATCH", "/tasks/bulk", [{"id": 1, "completed": False}, {"id": 9999}], 404),
    ("POST", "/tasks/9999/transfer", {"from_user_id": 1, "to_user_id": 3}, 404),
    ("GET", "/users/1/tasks?sort_by=nonsense", None, 422),
]


def _first_keyword(sql: str) -> str:
    match = re.match(r"[A-Za-z]+", sql[_LEADING.match(sql).end() :])  # type: ignore[union-attr]
    return match.group(0).upper() if match else ""


def _counted(query: str, toplevel: bool) -> bool:
    """Whether the contract counts this pg_stat_statements entry (see the module docstring)."""
    return not (
        not toplevel
        or _first_keyword(query) in NOT_COUNTED
        or query.lstrip().startswith(POOL_RESET_SELECT)
        or "pg_catalog.pg_type" in query
        or "set_config(" in query
        or any(name in query for name in MONITORING)
    )


def _scalar(db: Any, sql: str) -> Any:
    db.execute(sql)
    return db.fetchone()[0]


def _require_pg_stat_statements(db: Any) -> None:
    """Skip, saying why, unless this server records statements for this database."""
    if _scalar(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 0:
        pytest.skip("pg_stat_statements is not installed in the test database (not preloaded)")
    if int(_scalar(db, "SHOW server_version_num")) < 140000:
        pytest.skip("pg_stat_statements has no toplevel column before PostgreSQL 14")
    try:
        db.execute("SELECT count(*) FROM pg_stat_statements")
    except psycopg2.Error as exc:
        pytest.skip(f"pg_stat_statements cannot be read here: {exc}".strip())
    for name, accepted in TRACKING.items():
        if (value := _scalar(db, f"SHOW {name}")) not in accepted:
            pytest.skip(f"pg_stat_statements records too little here: {name} = {value}")


def _busy_backends(db: Any) -> list[tuple[int, str]]:
    """(pid, state) of the other client backends on the test database not yet idle."""
    db.execute(
        "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        " AND state IS DISTINCT FROM 'idle'"
    )
    return db.fetchall()


def _wait_until_released(db: Any) -> None:
    """Until every statement the app ran has been recorded (see the module docstring)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while busy := _busy_backends(db):
        if time.monotonic() > deadline:
            pytest.fail(f"the app's connections were not released (pid, state): {busy}")
        time.sleep(0.01)


def _reset(db: Any) -> None:
    # Only this database's entries: on a shared server, other databases' statistics stay.
    try:
        db.execute(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
            " WHERE datname = current_database()), 0)"
        )
    except psycopg2.errors.InsufficientPrivilege as exc:
        pytest.skip(f"this user may not reset pg_stat_statements: {exc}".strip())


def _recorded(db: Any) -> list[tuple[str, int, bool]]:
    db.execute(
        "SELECT s.query, s.calls, s.toplevel FROM pg_stat_statements s"
        " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"
        " ORDER BY s.calls DESC, s.query"
    )
    return db.fetchall()


def test_header_counts_equal_what_postgres_executed(client: TestClient, db: Any) -> None:
    _require_pg_stat_statements(db)
    # Connect (and let a driver or dialect introspect) before counting starts.
    assert client.get("/health").status_code == 200
    _wait_until_released(db)
    _reset(db)
    sent: list[tuple[str, str, int]] = []
    for method, path, body, status in SCRIPT:
        response = client.request(method, path, json=body)
        assert response.status_code == status, f"{method} {path}: {response.text[:500]}"
        sent.append((method, path, statements(response)))
    _wait_until_released(db)
    recorded = _recorded(db)

    header_total = sum(count for *_, count in sent)
    postgres_total = sum(calls for query, calls, top in recorded if _counted(query, top))
    assert header_total == postgres_total, _explain(sent, recorded)


def _explain(sent: list[tuple[str, str, int]], recorded: list[tuple[str, int, bool]]) -> str:
    lines = ["X-Query-Count per request:"]
    lines += [f"  {count:5}  {method} {path}" for method, path, count in sent]
    lines.append("pg_stat_statements (calls, counted?, query):")
    for query, calls, top in recorded:
        mark = "yes" if _counted(query, top) else "no "
        lines.append(f"  {calls:5}  {mark}  {' '.join(query.split())[:150]}")
    return "\n".join(lines)
