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
type and body schema; a schema-invalid request must be refused with a 4xx.

Requests go through the suite's ``client`` (the app with its lifespan, over empty tables), not
schemathesis' ASGI transport, which would start a second lifespan on the same app. (Its pytest
integration, ``schema.parametrize()``, does not run on pytest 9 in schemathesis 4.32.) Bounded
and repeatable: coverage cases are a fixed list, Hypothesis is derandomized with a fixed number
of examples and no example database.
"""

from collections.abc import Iterator
from typing import Any

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
from implementations.contract.settings import Settings
from tests.contract.helpers import create_task, create_user

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
    max_examples=10,
    deadline=None,  # a request's time depends on the shared machine, not on the input
    derandomize=True,  # the same examples on every run: a failure here is reproducible
    database=None,  # nothing remembered between runs, so nothing differs between machines
    # The first draw compiles the operation's strategies (about a second on this machine) and
    # negative bodies are made by filtering: neither says anything about the API.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
STATEFUL_SETTINGS = settings(FUZZ_SETTINGS, max_examples=15, stateful_step_count=8)


def _operation_labels() -> list[str]:
    # Every implementation has the same routes (test_parity compares them), so the labels are
    # read once, at collection, from an app that is built and never started.
    app = create_app(next(iter(IMPLEMENTATIONS)), Settings(database_url="postgresql://unused/x"))
    operations = schemathesis.openapi.from_dict(app.openapi()).get_all_operations()
    return [operation.ok().label for operation in operations]


OPERATIONS = _operation_labels()


@pytest.fixture(scope="session")
def api_schema(app_client: TestClient) -> Any:
    """This implementation's own OpenAPI, as schemathesis reads it."""
    return schemathesis.openapi.from_dict(app_client.app.openapi())  # type: ignore[attr-defined]


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
    client: TestClient, api_schema: Any
) -> None:
    _seed(client)

    class ThroughClient(api_schema.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            # The machine reads links and records steps from schemathesis' own response type.
            return schemathesis.Response.from_any(_send(client, case))

        def validate_response(self, response: Any, case: Case, *_: Any, **__: Any) -> None:
            case.validate_response(response, checks=RESPONSE_CHECKS)

    ThroughClient.run(settings=STATEFUL_SETTINGS)
