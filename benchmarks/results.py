"""The results file (``results.json``): its JSON Schema, and reading and writing it.

Everything after a run — the report, the regression check — reads this one format
(docs/results-format.md). It grows by additions, never changes: ``label``, ``operation``,
``how``, ``mode``, ``driver``, ``calls``, ``floor`` (which row the ratio divides by), pool
and memory figures, ``plans`` and ``setup`` (the indexing scenario's), ``round_medians_s``
(one median per round: the unit the regression check tests), and the ``not_applicable`` list
that says why a variant has no row for an implementation were all added that way.
"""

import json
from pathlib import Path
from typing import Any

import jsonschema

_NUMBER_OR_NULL = {"type": ["number", "null"]}

_SECONDS = {"type": "number", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
CONCURRENCY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "workers",
        "config",
        "operations",
        "succeeded",
        "timeouts",
        "errors",
        "latency_p99_s",
        "pool_wait_p50_s",
        "pool_wait_p95_s",
        "connections_per_1000_ops",
        "peak_backends",
    ],
    "properties": {
        "workers": {"type": "integer", "minimum": 1},
        "config": {"type": "string"},
        "event_loop": {"enum": ["asyncio", "uvloop", "threads"]},
        "pgbouncer": {"type": "boolean"},
        "interleaved": {"type": "boolean"},
        "operations": _COUNT,
        "succeeded": _COUNT,
        "timeouts": _COUNT,
        "errors": {"type": "object", "additionalProperties": _COUNT},
        "wall_s": _SECONDS,
        "ops_per_s_rounds": {"type": "array", "items": {"type": "number", "minimum": 0}},
        "latency_p50_s": _SECONDS,
        "latency_p95_s": _SECONDS,
        "latency_p99_s": _SECONDS,
        "pool_wait_p50_s": _SECONDS,
        "pool_wait_p95_s": _SECONDS,
        "connections_per_1000_ops": {"type": "number", "minimum": 0},
        "peak_backends": _COUNT,
        "pool_ceiling": {"type": ["integer", "null"], "minimum": 1},
        "settings": {"type": "object"},
    },
}

ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "scenario",
        "variant",
        "implementation",
        "params",
        "rounds",
        "median_s",
        "p95_s",
        "iqr_s",
        "ops_per_s",
        "queries_per_op",
        "rows_per_op",
        "floor_ratio",
        "samples_s",
    ],
    "properties": {
        "scenario": {"type": "string"},
        "variant": {"type": "string"},
        "label": {"type": "string"},
        "implementation": {"type": "string"},
        "operation": {"type": "string"},
        "how": {"type": "string"},
        "mode": {"enum": ["sync", "async"]},
        "driver": {"type": "string"},
        "params": {"type": "object"},
        "rounds": {"type": "integer", "minimum": 1},
        "calls": {"type": "integer", "minimum": 1},
        "median_s": {"type": "number", "exclusiveMinimum": 0},
        "mean_s": {"type": "number", "exclusiveMinimum": 0},
        "p95_s": {"type": "number", "exclusiveMinimum": 0},
        "iqr_s": {"type": "number", "minimum": 0},
        # Single-call rows: 1 / median_s. Concurrent rows (pooling): operations that
        # succeeded per second, which is 0 when a pool timed every one of them out.
        "ops_per_s": {"type": "number", "minimum": 0},
        "queries_per_op": {"type": "number", "minimum": 0},
        "queries_vary": {"type": "boolean"},
        "round_trips_per_op": {"type": "number", "minimum": 0},
        "round_trips_vary": {"type": "boolean"},
        "cpu_median_s": {"type": "number", "minimum": 0},
        "rows_per_op": {"type": "number", "minimum": 0},
        "result_shape": {"type": "string"},
        "differs": {"type": "string"},
        "columns_per_row": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "floor_ratio": _NUMBER_OR_NULL,
        "floor": {"type": ["object", "null"]},
        "pool_checkouts_per_op": {"type": "number", "minimum": 0},
        "pool_connects": {"type": "integer", "minimum": 0},
        "peak_memory_bytes": {"type": "integer", "minimum": 0},
        # Scenarios that tally outcomes (caching): reads, those answered without a statement,
        # those that returned an earlier value of the data, and those that returned an answer
        # it never had (another user's).
        "reads": {"type": "integer", "minimum": 0},
        "hits": {"type": "integer", "minimum": 0},
        "hit_ratio": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "hit_median_s": {"type": ["number", "null"], "minimum": 0},
        "stale_reads": {"type": "integer", "minimum": 0},
        "wrong_answers": {"type": "integer", "minimum": 0},
        "samples_s": {"type": "array", "items": {"type": "number"}, "minItems": 1},
        "round_medians_s": {"type": "array", "items": {"type": "number"}},
        "cpu_round_medians_s": {"type": "array", "items": {"type": "number"}},
        # Concurrent families only (pooling): W workers at once, see docs/results-format.md.
        "concurrency": CONCURRENCY_SCHEMA,
        "baseline_ratios": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "number"}},
        },
        # A scenario's explain(): one entry per statement the call sent (scenarios/plans.py).
        "plans": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sql", "plan"],
                "properties": {
                    "sql": {"type": "string"},
                    "plan_kind": {"enum": ["custom", "generic"]},
                    "plan": {"type": ["object", "null"]},
                    "summary": {"type": "object"},
                },
            },
        },
        "setup": {"type": "object"},  # a scenario's describe_setup(): what setup built
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["meta", "results"],
    "properties": {
        "meta": {
            "type": "object",
            "required": [
                "started_at",
                "git_commit",
                "python",
                "postgres",
                "packages",
                "machine",
                "profile",
                "database",
            ],
            "properties": {
                "started_at": {"type": "string"},
                "git_commit": {"type": "string"},
                "python": {"type": "string"},
                "postgres": {"type": "string"},
                "packages": {"type": "object", "additionalProperties": {"type": "string"}},
                "machine": {"type": "object"},
                "profile": {"enum": ["quick", "standard", "full"]},
                "database": {"enum": ["embedded", "external", "testcontainers"]},
                "settings": {"type": "object"},
                "probe": {"type": "object"},
                "redis": {
                    "type": "object",
                    "required": ["provider"],
                    "properties": {
                        "provider": {"enum": ["embedded", "external", "testcontainers"]},
                        "version": {"type": "string"},
                    },
                },
            },
        },
        "results": {"type": "array", "items": ROW_SCHEMA},
        "not_applicable": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["scenario", "variant", "implementation", "reason"],
            },
        },
    },
}


def validate(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``document`` is not a results file."""
    jsonschema.validate(document, SCHEMA)


def write(document: dict[str, Any], path: Path) -> None:
    validate(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def read(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    validate(document)
    return document


def row_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """What identifies a row across runs: scenario, variant, implementation, params."""
    params = json.dumps(row["params"], sort_keys=True)
    return row["scenario"], row["variant"], row["implementation"], params
