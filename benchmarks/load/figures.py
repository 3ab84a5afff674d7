"""The figures of one locust run, read from what locust wrote (never from locust itself, whose
import patches sockets): its final ``--json-file`` (per endpoint: requests, failures, the
response-time histogram, first and last request), its ``_failures.csv`` and
``_exceptions.csv``, and the locustfile's per-endpoint statement counts.

Locust's ``_stats.csv`` is written every few seconds during the run and may miss the last
ones; the JSON is written once, after the workers' final reports, so every total is taken
from it and the percentiles are computed from its histogram the way locust computes them.
"""

import csv
import json
from pathlib import Path
from typing import Any

PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
HEADERS = {"statements": "X-Query-Count", "round_trips": "X-Round-Trips"}

# What locust writes into a run folder (``--json-file`` appends ".json" itself).
LOCUST_PREFIX = "locust"
STATS_JSON = f"{LOCUST_PREFIX}.json"
FAILURES_CSV = f"{LOCUST_PREFIX}_failures.csv"
EXCEPTIONS_CSV = f"{LOCUST_PREFIX}_exceptions.csv"
STATEMENTS_JSON = "statements.json"


def percentile(histogram: dict[int, int], count: int, share: float) -> float:
    """Locust's definition: the largest recorded (bucketed) response time with at most
    ``int(count * share)`` requests faster than it."""
    faster_allowed = int(count * share)
    at_or_above = 0
    for response_time in sorted(histogram, reverse=True):
        at_or_above += histogram[response_time]
        if count - at_or_above <= faster_allowed:
            return float(response_time)
    return 0.0


def _histogram(entry: dict[str, Any]) -> dict[int, int]:
    return {int(ms): n for ms, n in entry["response_times"].items()}


def _timing(histogram: dict[int, int], requests: int, total_ms: float) -> dict[str, float]:
    figures = {key: percentile(histogram, requests, share) for key, share in PERCENTILES.items()}
    figures["mean_ms"] = round(total_ms / requests, 2) if requests else 0.0
    return figures


def _header_figures(values: dict[str, int]) -> dict[str, float]:
    """Mean, min and max of one header's values over an endpoint's responses."""
    numbers = {int(value): n for value, n in values.items()}
    responses = sum(numbers.values())
    return {
        "mean": round(sum(v * n for v, n in numbers.items()) / responses, 3),
        "min": min(numbers),
        "max": max(numbers),
    }


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def read_run(folder: Path, duration_s: float | None = None) -> dict[str, Any]:
    """Per endpoint and in total: requests, failures, requests/s, p50/p95/p99, statements and
    round trips per request; plus the failure messages and the locustfile's exceptions.

    Requests per second are over the run's ``duration_s`` or, if longer (tasks finishing
    after it), from the first request to the last: never over less than the run, so a server
    that stalls after a burst shows as slow, not as fast."""
    entries = (
        json.loads((folder / STATS_JSON).read_text()) if (folder / STATS_JSON).exists() else []
    )
    counted = (
        (folder / STATEMENTS_JSON).read_text() if (folder / STATEMENTS_JSON).exists() else "{}"
    )
    counts = json.loads(counted)
    starts = [e["start_time"] for e in entries if e["num_requests"]]
    ends = [e["last_request_timestamp"] for e in entries if e["last_request_timestamp"]]
    window = max(ends) - min(starts) if starts and ends else 0.0
    window = max(window, duration_s or 0.0)
    total_histogram: dict[int, int] = {}
    endpoints: dict[str, dict[str, Any]] = {}
    # Reads first, then writes; by route within each.
    for entry in sorted(entries, key=lambda e: (e["method"] != "GET", e["name"], e["method"])):
        endpoint = f"{entry['method']} {entry['name']}"
        histogram = _histogram(entry)
        for ms, n in histogram.items():
            total_histogram[ms] = total_histogram.get(ms, 0) + n
        requests = entry["num_requests"]
        endpoints[endpoint] = {
            "requests": requests,
            "failures": entry["num_failures"],
            "rps": round(requests / window, 2) if window else 0.0,
            **_timing(histogram, requests, entry["total_response_time"]),
            **{
                key: _header_figures(counts[endpoint][header])
                for key, header in HEADERS.items()
                if counts.get(endpoint, {}).get(header)
            },
            "responses_counted": sum(
                counts.get(endpoint, {}).get(HEADERS["statements"], {}).values()
            ),
        }
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    total_ms = sum(e["total_response_time"] for e in entries)
    exceptions = sum(int(row["Count"]) for row in _rows(folder / EXCEPTIONS_CSV))
    return {
        "requests": requests,
        "failures": failures,
        "failure_ratio": round(failures / requests, 6) if requests else 0.0,
        "exceptions": exceptions,
        "window_s": round(window, 3),
        "rps": round(requests / window, 2) if window else 0.0,
        **_timing(total_histogram, requests, total_ms),
        "statements_per_request": _weighted(endpoints, "statements"),
        "round_trips_per_request": _weighted(endpoints, "round_trips"),
        "endpoints": endpoints,
        "failure_messages": [
            f"{row['Method']} {row['Name']}: {row['Error']} (x{row['Occurrences']})"
            for row in _rows(folder / FAILURES_CSV)
        ],
    }


def _weighted(endpoints: dict[str, dict[str, Any]], key: str) -> float | None:
    """The mean over every counted response of the run, whatever its endpoint."""
    pairs = [(e[key]["mean"], e["responses_counted"]) for e in endpoints.values() if key in e]
    responses = sum(n for _, n in pairs)
    return round(sum(m * n for m, n in pairs) / responses, 3) if responses else None
