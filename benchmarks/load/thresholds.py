"""``--fail-on`` thresholds: what makes ``ormbench load`` exit 1, for CI.

Each threshold is ``KEY=VALUE`` and is held against every implementation's figures:

- ``failures=0.01`` (or ``1%``): the failure ratio may not exceed it; ``failures=0`` fails
  on any failed request. An exception raised in the locustfile counts as a failure.
- ``p50=``, ``p95=``, ``p99=``, ``mean=`` a response time (``250ms``, ``1.5s``; a bare number
  is milliseconds) that the percentile may not exceed.
- ``rps=`` the fewest requests per second an implementation must serve.
"""

import re
from dataclasses import dataclass
from typing import Any

_TIME = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)?$")
_LATENCY_KEYS = {"p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms", "mean": "mean_ms"}
KEYS = ("failures", *_LATENCY_KEYS, "rps")


@dataclass(frozen=True)
class Threshold:
    key: str  # as the user wrote it: failures, p95, rps, ...
    limit: float  # a ratio, milliseconds or requests per second
    text: str

    def verdict(self, figures: dict[str, Any]) -> tuple[bool, str]:
        """(passed, what was measured against what was allowed)."""
        if self.key == "failures":
            failed = figures["failures"] + figures.get("exceptions", 0)
            ratio = failed / figures["requests"] if figures["requests"] else 1.0
            if not figures["requests"]:
                return False, "no requests at all"
            return ratio <= self.limit, f"{ratio:.4%} failed (limit {self.limit:.4%})"
        if self.key == "rps":
            value = figures["rps"]
            return value >= self.limit, f"{value:.1f} req/s (at least {self.limit:g})"
        value = figures[_LATENCY_KEYS[self.key]]
        return value <= self.limit, f"{self.key} {value:g} ms (limit {self.limit:g} ms)"


def parse(text: str) -> Threshold:
    key, sep, value = text.partition("=")
    key, value = key.strip().lower(), value.strip().lower()
    if not sep or key not in KEYS:
        raise ValueError(
            f"--fail-on {text!r}: expected KEY=VALUE with KEY one of {', '.join(KEYS)}"
        )
    if key == "failures":
        share = value.endswith("%")
        try:
            limit = float(value.rstrip("%")) / (100 if share else 1)
        except ValueError:
            raise ValueError(f"--fail-on {text!r}: a ratio such as 0.01 or 1%") from None
        if not 0 <= limit <= 1:
            raise ValueError(f"--fail-on {text!r}: a ratio between 0 and 1 (or 0% and 100%)")
        return Threshold(key, limit, text)
    if key == "rps":
        try:
            return Threshold(key, float(value), text)
        except ValueError:
            raise ValueError(f"--fail-on {text!r}: a number of requests per second") from None
    match = _TIME.match(value)
    if not match:
        raise ValueError(f"--fail-on {text!r}: a time such as 250ms or 1.5s")
    scale = 1000 if match["unit"] == "s" else 1
    return Threshold(key, float(match["number"]) * scale, text)


def check(
    thresholds: list[Threshold], by_implementation: dict[str, dict[str, Any]]
) -> list[tuple[str, Threshold, bool, str]]:
    """Every (implementation, threshold) pair with its verdict."""
    return [
        (name, threshold, *threshold.verdict(figures))
        for name, figures in by_implementation.items()
        for threshold in thresholds
    ]
