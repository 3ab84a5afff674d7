"""Summary statistics of timing samples: medians and spreads, never a single timing."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    median_s: float
    p95_s: float
    iqr_s: float
    ops_per_s: float


def quantile(sorted_samples: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_samples) == 1:
        return sorted_samples[0]
    position = (len(sorted_samples) - 1) * q
    low = int(position)
    high = min(low + 1, len(sorted_samples) - 1)
    return sorted_samples[low] + (sorted_samples[high] - sorted_samples[low]) * (position - low)


def summarize(samples: Sequence[float]) -> Summary:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    return Summary(
        median_s=median,
        p95_s=quantile(ordered, 0.95),
        iqr_s=quantile(ordered, 0.75) - quantile(ordered, 0.25),
        ops_per_s=1.0 / median,
    )


def thin(samples: Sequence[float], keep: int) -> list[float]:
    """At most ``keep`` samples, evenly spaced in the order they were taken."""
    if len(samples) <= keep:
        return list(samples)
    step = len(samples) / keep
    return [samples[int(i * step)] for i in range(keep)]
