"""The regression check: more SQL fails; slower fails only when it is real.

Statement counts are deterministic, so any increase per (scenario, variant,
implementation, params) fails and a decrease is good news that asks for a baseline update.
Timings are not: identical code differs by 1.5x between two runners of a shared CI. So a
row is compared by its ``floor_ratio`` (its median over the floor's, measured in the same
run, so machine speed cancels), and fails only when the ratio grew by more than ``factor``
AND a Mann-Whitney U test says the shift is unlikely to be noise (p below ``alpha`` after
Holm's correction for the number of rows tested in the same check).

The test compares round medians (each divided by its run's floor median), not single calls:
calls within a round share the machine's state at that moment, so treating hundreds of them
as independent would make any drift between two runs look "significant". Rounds are the
unit that interleaving spreads across the run. A row with too few rounds for the test to
ever reach ``alpha`` can only ever be noise, and is reported so. Files without round
medians fall back to the samples.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.results import row_key

DEFAULT_FACTOR = 1.25
DEFAULT_ALPHA = 0.01


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    compared: int = 0
    timing_compared: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, ties corrected)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = sorted([(value, 0) for value in a] + [(value, 1) for value in b])
    ranks = [0.0] * len(pooled)
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        tied = j - i + 1
        tie_term += tied**3 - tied
        i = j + 1
    rank_sum_a = sum(rank for rank, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)  # continuity correction
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def _name(row: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
    return f"`{row['scenario']}` / `{row['variant']}` / `{row['implementation']}` ({params})"


def _floor_median(rows: dict[tuple, dict[str, Any]], row: dict[str, Any]) -> float | None:
    floor = row.get("floor")
    if not floor:
        return None
    key = row_key({**row, "variant": floor["variant"], "implementation": floor["implementation"]})
    floor_row = rows.get(key)
    return floor_row["median_s"] if floor_row else None


def compare(
    baseline: dict[str, Any],
    current: dict[str, Any],
    factor: float = DEFAULT_FACTOR,
    alpha: float = DEFAULT_ALPHA,
) -> Outcome:
    outcome = Outcome()
    base_rows = {row_key(row): row for row in baseline["results"]}
    new_rows = {row_key(row): row for row in current["results"]}
    for key in sorted(base_rows.keys() - new_rows.keys()):
        outcome.missing.append(f"{_name(base_rows[key])}: in the baseline, not in this run")
    for key in sorted(new_rows.keys() - base_rows.keys()):
        outcome.missing.append(f"{_name(new_rows[key])}: new in this run, not in the baseline")
    candidates: list[_Shift] = []
    for key in sorted(base_rows.keys() & new_rows.keys()):
        old, new = base_rows[key], new_rows[key]
        outcome.compared += 1
        _compare_statements(outcome, old, new)
        shift = _timing_shift(outcome, old, new, base_rows, new_rows)
        if shift is not None and not 1 / factor <= shift.change <= factor:
            candidates.append(shift)
    _judge(outcome, candidates, factor, alpha)
    return outcome


def _compare_statements(outcome: Outcome, old: dict[str, Any], new: dict[str, Any]) -> None:
    before, after = old["queries_per_op"], new["queries_per_op"]
    if after > before:
        outcome.failures.append(
            f"{_name(new)}: **{after:g} statements per call, was {before:g}** "
            f"(+{after - before:g}). A new query per call, or an N+1 come back: look at "
            "what this variant sends (X-Query-Count, or `echo`)."
        )
    elif after < before:
        outcome.improvements.append(
            f"{_name(new)}: {after:g} statements per call, was {before:g}. Good; run "
            "`ormbench baseline update` so the baseline keeps the lower count."
        )


@dataclass
class _Shift:
    row: dict[str, Any]
    old_ratio: float
    change: float
    p: float


def _timing_shift(
    outcome: Outcome, old: dict[str, Any], new: dict[str, Any], base_rows: dict, new_rows: dict
) -> _Shift | None:
    if old.get("floor_ratio") is None or new.get("floor_ratio") is None:
        return None
    floor = new.get("floor") or {}
    if (new["variant"], new["implementation"]) == (
        floor.get("variant"),
        floor.get("implementation"),
    ):
        return None  # the floor itself: its ratio is 1 by definition
    old_floor, new_floor = _floor_median(base_rows, old), _floor_median(new_rows, new)
    if not old_floor or not new_floor:
        return None
    outcome.timing_compared += 1
    old_units = old.get("round_medians_s") or old["samples_s"]
    new_units = new.get("round_medians_s") or new["samples_s"]
    p = mann_whitney_p([s / old_floor for s in old_units], [s / new_floor for s in new_units])
    return _Shift(new, old["floor_ratio"], new["floor_ratio"] / old["floor_ratio"], p)


def _judge(outcome: Outcome, candidates: list[_Shift], factor: float, alpha: float) -> None:
    """Holm's step-down correction over every row whose timing was compared: with a hundred
    rows tested at once, an uncorrected p < 0.01 would flag one row per run from noise."""
    tests = max(outcome.timing_compared, 1)
    still_rejecting = True
    for rank, shift in enumerate(sorted(candidates, key=lambda c: c.p)):
        threshold = alpha / (tests - rank)
        still_rejecting = still_rejecting and shift.p < threshold
        figures = (
            f"floor_ratio {shift.old_ratio:.2f} → {shift.row['floor_ratio']:.2f} "
            f"({shift.change:.2f}x), Mann-Whitney p = {shift.p:.2g} "
            f"(Holm threshold {threshold:.2g})"
        )
        name = _name(shift.row)
        if not still_rejecting:
            outcome.noise.append(f"{name}: {figures}: not significant, treated as noise.")
        elif shift.change > factor:
            outcome.failures.append(
                f"{name}: **slower relative to its floor**: {figures}. Profile this variant "
                "(the statements did not change, so the time went into Python or the driver)."
            )
        else:
            outcome.improvements.append(
                f"{name}: faster relative to its floor: {figures}. Consider "
                "`ormbench baseline update`."
            )


def render(outcome: Outcome, factor: float, alpha: float, baseline_label: str) -> str:
    verdict = "**FAILED**" if outcome.failures else "**passed**"
    lines = [
        f"# ormbench check: {verdict}",
        "",
        f"Compared {outcome.compared} rows with the baseline `{baseline_label}`: statement "
        f"counts exactly, and {outcome.timing_compared} rows by `floor_ratio` (a row fails "
        f"only if its ratio grew by more than {factor:g}x and a Mann-Whitney U test on its "
        f"round medians gives p < {alpha:g}, Holm-corrected for the rows tested).",
        "",
    ]
    sections = (
        ("Failures", outcome.failures, "Nothing got worse."),
        ("Improvements (update the baseline to keep them)", outcome.improvements, None),
        ("Timing changes treated as noise", outcome.noise, None),
        ("Rows on one side only", outcome.missing, None),
    )
    for title, items, empty in sections:
        if not items and empty is None:
            continue
        lines += [f"## {title}", ""]
        lines += [f"- {item}" for item in items] if items else [empty, ""]
        lines.append("")
    if outcome.missing:
        lines += [
            "A missing row is not a failure, but it is not checked either: if a scenario, "
            "variant or implementation was added or removed on purpose, update the baseline.",
            "",
        ]
    return "\n".join(lines)
