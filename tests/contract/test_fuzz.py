"""Fuzzing every implementation against its own OpenAPI, with schemathesis and Hypothesis.

schemathesis reads the OpenAPI an app publishes and makes requests from it, three ways:
- coverage cases: a fixed list per operation of boundary values and of one rule broken at a
  time (a string too long, a NUL where the pattern forbids it, a wrong type, a missing field,
  a method the path does not have...);
- generated cases: Hypothesis strategies of schema-valid (positive) and schema-invalid
  (negative) requests;
- stateful chains along the links it infers: make a user, read it, give it tasks, patch,
  transfer, delete them.
Every answer must be no 5xx, a status code the OpenAPI documents, with the documented content
type and body schema; a schema-invalid request must be refused with a 4xx. One request at a
time cannot reach what concurrency does, so the last tests hold row locks from a second
connection to make two races happen: a deadlock, and a row deleted between read and write.

Requests go through the suite's ``client`` (the app with its lifespan, over empty tables), not
schemathesis' ASGI transport, which would start a second lifespan on the same app. (Its pytest
integration, ``schema.parametrize()``, does not run on pytest 9 in schemathesis 4.32.) Bounded
and repeatable: coverage cases are a fixed list, Hypothesis is derandomized with a fixed number
of examples and no example database.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
import schemathesis
from fastapi.testclient import TestClient
from httpx2 import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from implementations import IMPLEMENTATIONS, create_app
from implementations.contract import errors
from implementations.contract.settings import Settings
from tests.conftest import TABLES
from tests.contract.helpers import create_task, create_user, expect, expect_error

# Left out, on purpose:
# - positive_data_acceptance: some rules cannot be said in JSON Schema, so schema-valid bodies
#   are rightly refused with a 422 (from_user_id == to_user_id, duplicate ids in a bulk update,
#   the special-use domains such as ".test" that email-validator refuses).
# - unsupported_method, allow_header_conformance: Starlette's 405 names only the methods of the
#   first route that matches the path, and GET /tasks/bulk is routed to /tasks/{task_id} (a 422,
#   not a 405). Framework routing, not the contract; not_a_server_error still covers them.
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: RESPONSE_CHECKS,
    GenerationMode.NEGATIVE: [*RESPONSE_CHECKS, negative_data_rejection],
}

# The rows _seed makes, so that generated requests reach data and not only 404s.
KNOWN_IDS = {"user_id": 1, "task_id": 1}

FUZZ_SETTINGS = settings(
    max_examples=6,
    deadline=None,  # a request's time depends on the shared machine, not on the input
    derandomize=True,  # the same examples on every run: a failure here is reproducible
    database=None,  # nothing remembered between runs, so nothing differs between machines
    # The first draw compiles the operation's strategies (about a second on this machine) and
    # negative bodies are made by filtering: neither says anything about the API.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
STATEFUL_SETTINGS = settings(FUZZ_SETTINGS, max_examples=10, stateful_step_count=8)


def _operation_labels() -> list[str]:
    # Read at collection, from an app that is built and never started; every implementation
    # must have the same operations (test_every_implementation_publishes_the_same_operations).
    app = create_app(
        next(iter(IMPLEMENTATIONS)), Settings(database_url="postgresql://unused/x", cache="none")
    )
    operations = schemathesis.openapi.from_dict(app.openapi()).get_all_operations()
    return [operation.ok().label for operation in operations]


OPERATIONS = _operation_labels()


@pytest.fixture(scope="session")
def api_schema(app_client: TestClient) -> Any:
    """This implementation's own OpenAPI, as schemathesis reads it."""
    return schemathesis.openapi.from_dict(app_client.app.openapi())  # type: ignore[attr-defined]


def test_every_implementation_publishes_the_same_operations(api_schema: Any) -> None:
    assert [operation.ok().label for operation in api_schema.get_all_operations()] == OPERATIONS


def _operation(api_schema: Any, label: str) -> Any:
    method, path = label.split(" ", 1)
    return api_schema[path][method]


def _seed(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bobby")
    for title in ("one", "two", "three"):
        create_task(client, 1, title)


def _send(client: TestClient, case: Case) -> Response:
    """Send ``case`` through the suite's client; schemathesis builds requests-style kwargs."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    kwargs.pop("cookies", None)  # the API has none; httpx deprecates per-request cookies
    if "data" in kwargs and not isinstance(kwargs["data"], dict):
        kwargs["content"] = kwargs.pop("data")  # raw bytes: ``content`` in httpx
    return client.request(**kwargs)


def _check(client: TestClient, case: Case) -> None:
    mode = case.meta.generation.mode if case.meta else GenerationMode.POSITIVE
    case.validate_response(_send(client, case), checks=CHECKS[mode])


def _coverage_cases(operation: Any) -> Iterator[Case]:
    schema = operation.schema
    config = schema.config.generation_for(operation=operation, phase="coverage")
    modes = list(GenerationMode)
    return schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config)


def _strategy(operation: Any, mode: GenerationMode) -> st.SearchStrategy[Case]:
    generated = operation.as_strategy(mode)
    known = {p.name: KNOWN_IDS[p.name] for p in operation.path_parameters}
    if mode is GenerationMode.NEGATIVE or not known:
        return generated
    # Half the valid requests aim at rows that exist, where the database work happens.
    return st.one_of(generated, operation.as_strategy(mode, path_parameters=known))


@pytest.mark.parametrize("label", OPERATIONS)
def test_coverage_cases_get_documented_answers(
    client: TestClient, api_schema: Any, label: str
) -> None:
    _seed(client)
    for case in _coverage_cases(_operation(api_schema, label)):
        _check(client, case)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests_get_documented_answers(
    client: TestClient, api_schema: Any, label: str, mode: GenerationMode
) -> None:
    operation = _operation(api_schema, label)
    if mode is GenerationMode.NEGATIVE and not (
        operation.path_parameters or operation.query or operation.body
    ):
        pytest.skip("nothing to make invalid")
    _seed(client)

    @FUZZ_SETTINGS
    @given(case=_strategy(operation, mode))
    def fuzz(case: Case) -> None:
        _check(client, case)

    fuzz()


def test_chains_of_linked_requests_get_documented_answers(
    client: TestClient, api_schema: Any, db: Any
) -> None:
    class ThroughClient(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each chain from the same rows, ids from 1: Hypothesis replays a chain to shrink
            # it, and a replay must see what the first run saw.
            db.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            _seed(client)

        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            # The machine reads links and records steps from schemathesis' own response type.
            return schemathesis.Response.from_any(_send(client, case))

        def validate_response(self, response: Any, case: Case, *_: Any, **__: Any) -> None:
            case.validate_response(response, checks=RESPONSE_CHECKS)

    ThroughClient.run(settings=STATEFUL_SETTINGS)


def _wait_for_a_lock_wait(db: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if db.fetchone()[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the request never waited for the row lock")


def test_a_deadlocked_request_is_run_again_not_answered_500(
    client: TestClient, database_url: str, db: Any
) -> None:
    create_user(client, "alice")
    create_task(client, 1, "one")
    create_task(client, 1, "two")
    other = psycopg2.connect(database_url)  # another client of the database, mid-transaction
    try:
        with other.cursor() as cursor, ThreadPoolExecutor(1) as pool:
            cursor.execute("SELECT id FROM tasks WHERE id = 2 FOR UPDATE")
            items = [{"id": 1, "priority": 5}, {"id": 2, "priority": 5}]
            request = pool.submit(client.patch, "/tasks/bulk", json=items)
            _wait_for_a_lock_wait(db)  # the request holds task 1 and waits for task 2
            # A waiting backend looks for a deadlock after deadlock_timeout (1 s); the request's
            # began waiting first, so it finds the cycle and is the transaction aborted.
            time.sleep(0.2)
            cursor.execute("UPDATE tasks SET completed = true WHERE id = 1")  # closes the cycle
            other.commit()
            response = request.result(timeout=60)
    finally:
        other.close()
    assert expect(response, 200) == {"updated": 2}
    db.execute("SELECT id, completed, priority FROM tasks ORDER BY id")
    assert db.fetchall() == [(1, True, 5), (2, False, 5)]  # both transactions' work is there


@pytest.mark.parametrize(
    ("table", "body", "detail"),
    [
        ("users", {"is_active": False}, errors.USER_NOT_FOUND),
        ("tasks", {"priority": 3}, errors.TASK_NOT_FOUND),
    ],
    ids=["user", "task"],
)
def test_a_patch_of_a_row_deleted_meanwhile_is_404(
    client: TestClient, database_url: str, db: Any, table: str, body: dict, detail: str
) -> None:
    create_user(client, "alice")
    create_task(client, 1, "one")
    other = psycopg2.connect(database_url)
    try:
        with other.cursor() as cursor, ThreadPoolExecutor(1) as pool:
            # Not committed yet: the row is still there to read, and locked against the UPDATE.
            cursor.execute(f"DELETE FROM {table} WHERE id = 1")  # a fixed name, never input
            request = pool.submit(client.patch, f"/{table}/1", json=body)
            _wait_for_a_lock_wait(db)  # the request has read the row and waits to update it
            other.commit()
            response = request.result(timeout=60)
    finally:
        other.close()
    expect_error(response, 404, detail)
