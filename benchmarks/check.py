"""The regression check: more SQL or more round trips fail; slower fails once confirmed.

Counts are deterministic, so they are compared exactly, per (scenario, variant,
implementation, params): any increase in statements per call fails, and so does an
increase of half a round trip per call or more (a round trip count may vary by a fraction
when a driver prepares a statement on a connection it had not used yet). A decrease is good
news that asks for a baseline update. Counts that vary from call to call (a cache's hits and
misses, a second process's writes) are held to a band instead: a cache to its hit ratio
(``HIT_RATIO_BAND``), anything else to a share of growth (``VARYING_BAND``). A count that
is a race (a scenario's ``RACES``: concurrent misses with no guard) is listed, not gated.

Timings are not deterministic. On this shared 2-core machine the same code moves by 5% from
run to run, and a single round trip takes 50 µs or 150 µs depending on where the scheduler
puts the client and the server process: a latency-bound call such as a floor's get by id
reads half as long in one run in six or so. So a timing regression is decided in two steps,
and always relative to what was measured in the same run:

1. **Screen.** Each row's median is divided by a *reference*: the geometric mean of the
   floors' rows (``raw_psycopg2`` and ``raw_asyncpg``, every variant) of the same scenario
   and params, measured in the same run, the row itself left out. One floor row caught in a
   fast spell moves a reference of seven by a tenth, where dividing by that row alone would
   move the ratio by half. This is done on two clocks: wall time and client CPU time
   (``thread_time`` of the thread that runs the call). The baseline is made of several
   identical runs (``ormbench baseline update --runs 3``) and keeps each row's relative
   time in every one of them; the highest is what the row is held to: the worst that
   identical code was seen to do. A row that grew past that by more than ``screen`` on
   either clock is a suspect.
2. **Confirm.** The scenario of each suspect (with its params) is run again
   ``confirm_runs`` times, each time as in a full run (every pair, interleaved as before,
   on new pools: measured alone, an ORM row reads 10-20% lower, its code staying warm in the
   CPU's caches) and its relative time taken as the median of those runs. A suspect fails
   when that grew by more than ``factor`` on CPU time, or by more than ``wall_factor`` on
   wall time, over the baseline's; otherwise it is listed as noise.

Both steps allow for the machine's state: when the machine is busier than it was for the
baseline, the rows of a scenario do not all move alike (a call that waits on many round
trips suffers more from a crowded scheduler than one that computes), and every row of a
group can read 20-40% higher for a while. So each change is divided by the *drift* of its
group (scenario and params): the median change of the group's other rows, when that is
above one. A regression of one implementation, or of one way, stands out of its group; a
busy machine moves the group.

Rows of a concurrent family (``pooling``: W workers at once, a ``concurrency`` object in the
row) are held to their counts only: their throughput on a shared machine moves too much from
run to run to be a regression signal, and the report reads it as measured.

CPU time is the steadier clock for what an ORM does (its work is the client's CPU), and is
the one ``factor`` guards; wall time also catches time spent waiting (a worse plan, a new
sleep), with a wider margin because waiting is what this machine's scheduling moves most.
"""

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import scenarios
from benchmarks.results import row_key

DEFAULT_SCREEN = 1.15
DEFAULT_FACTOR = 1.25  # confirmed growth of the CPU-time ratio that fails
DEFAULT_WALL_FACTOR = 1.40  # confirmed growth of the wall-time ratio that fails
DEFAULT_CONFIRM_RUNS = 3
ROUND_TRIP_TOLERANCE = 0.5  # per call: less is a stray prepare, not a new exchange
# Counts that vary from call to call (a cache's misses, a retry) are held to a band: a cache
# whose hit ratio fell by this much, or other counts grown by this share (or by the count's
# own tolerance, when that is more), fail.
HIT_RATIO_BAND = 0.2
VARYING_BAND = 0.25
# How much busier than at the baseline the machine itself may read (benchmarks/probe.py)
# for time to be judged at all: a round trip to the server this much slower, or this much
# less of the CPU for the harness's thread.
BUSY_ROUND_TRIP = 1.5
BUSY_CPU_SHARE = 0.8

CLOCKS = {"cpu": "cpu_median_s", "wall": "median_s"}  # clock -> a row's median on it
BASELINE_RATIOS = "baseline_ratios"  # clock -> the row's relative time in each baseline run

Row = dict[str, Any]
Key = tuple[str, str, str, str]


@dataclass
class Suspect:
    """A row whose relative time grew past the screen: its scenario is to be run again."""

    row: Row
    base: dict[str, float]  # clock -> what the baseline holds it to
    screened: dict[str, float]  # clock -> this run's relative time
    confirmed: dict[str, float] = field(default_factory=dict)  # clock -> median of the reruns
    drift: dict[str, float] = field(default_factory=dict)  # clock -> its group's drift

    @property
    def key(self) -> Key:
        return row_key(self.row)


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    ungated: list[str] = field(default_factory=list)  # counts that are a race (RACES)
    suspects: list[Suspect] = field(default_factory=list)
    compared: int = 0
    timing_compared: int = 0
    base: "Relative | None" = None  # the baseline, as compare() read it
    busy: str | None = None  # why time was not judged: the machine was busier than before

    @property
    def passed(self) -> bool:
        return not self.failures


def name(row: Row) -> str:
    params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
    return f"`{row['scenario']}` / `{row['variant']}` / `{row['implementation']}` ({params})"


class Relative:
    """One results document's rows, each as its time relative to its reference."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = {row_key(row): row for row in rows}
        floors = {row["floor"]["implementation"] for row in self.rows.values() if row.get("floor")}
        self.floors: dict[tuple[str, str], list[Row]] = {}
        for row in self.rows.values():
            if row["implementation"] in floors and not _untimed(row):
                scenario, _, _, params = row_key(row)
                self.floors.setdefault((scenario, params), []).append(row)

    def get(self, key: Key) -> dict[str, float]:
        """Clock -> the row's median over its reference. Empty if it has none; if the row gave
        wrong answers (their time is no figure to hold anyone to); or if its statements vary by
        design (a cache's median is a hit's or a miss's time as the hit ratio, which moves with
        the calls a run made, falls either side of one half: its counts are checked instead)."""
        row = self.rows.get(key)
        if row is None or _untimed(row):
            return {}
        scenario, _, _, params = key
        basket = [r for r in self.floors.get((scenario, params), []) if row_key(r) != key]
        found = {}
        for clock, median in CLOCKS.items():
            values = [r[median] for r in basket if r.get(median)]
            if row.get(median) and values:
                reference = math.exp(statistics.fmean(math.log(v) for v in values))
                found[clock] = row[median] / reference
        return found


def group_of(key: Key) -> tuple[str, str]:
    scenario, _, _, params = key
    return scenario, params


def drifts(
    base: "Relative", now: dict[Key, dict[str, float]]
) -> dict[tuple[str, str], dict[str, list[tuple[Key, float]]]]:
    """Per group and clock, each row's change: its relative time ``now`` over the median of
    the baseline's runs (what the group's drift is the median of)."""
    changes: dict[tuple[str, str], dict[str, list[tuple[Key, float]]]] = {}
    for key, relative in now.items():
        row = base.rows.get(key)
        if row is None:
            continue
        runs = row.get(BASELINE_RATIOS) or {}
        own = base.get(key)
        for clock, value in relative.items():
            typical = statistics.median(runs[clock]) if runs.get(clock) else own.get(clock)
            if typical:
                group = changes.setdefault(group_of(key), {}).setdefault(clock, [])
                group.append((key, value / typical))
    return changes


def drift_of(changes: dict, key: Key, clock: str) -> float:
    """The median change of the other rows of ``key``'s group, never below one."""
    others = [c for k, c in changes.get(group_of(key), {}).get(clock, []) if k != key]
    return max(statistics.median(others), 1.0) if others else 1.0


def _untimed(row: Row) -> bool:
    return bool(row.get("wrong_answers") or row.get("queries_vary"))


def held_to(row: Row, relative: dict[str, float]) -> dict[str, float]:
    """What a baseline row is held to: the highest relative time of its identical runs, or
    its own when the baseline has one run."""
    runs = row.get(BASELINE_RATIOS) or {}
    return {clock: max([value, *runs.get(clock, [])]) for clock, value in relative.items()}


def add_baseline_ratios(document: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Keep, in every row of ``document`` (itself one of the runs), its relative time in
    each of ``runs``."""
    relatives = [Relative(run["results"]) for run in runs]
    for row in document["results"]:
        found: dict[str, list[float]] = {}
        for relative in relatives:
            for clock, value in relative.get(row_key(row)).items():
                found.setdefault(clock, []).append(value)
        if found:
            row[BASELINE_RATIOS] = found


def busier(baseline: dict[str, Any], probes: dict[str, float]) -> str | None:
    """Why the machine of ``probes`` was too busy to judge time against ``baseline`` (None if
    it was not, or if either run has no probe)."""
    before = baseline["meta"].get("probe") or {}
    found = []
    if probes.get("round_trip_s") and before.get("round_trip_s"):
        slower = probes["round_trip_s"] / before["round_trip_s"]
        if slower > BUSY_ROUND_TRIP:
            found.append(f"a round trip to the server took {slower:.2f}x as long")
    if probes.get("cpu_share") and before.get("cpu_share"):
        share = probes["cpu_share"] / before["cpu_share"]
        if share < BUSY_CPU_SHARE:
            found.append(f"the harness got {share:.2f}x the share of the CPU")
    if not found:
        return None
    figures = " and ".join(found)
    return (
        f"the machine was busier than when the baseline was made ({figures}; "
        "benchmarks/probe.py): time is not judged, only counts. Run the check again when the "
        "machine is quiet"
    )


def compare(baseline: dict[str, Any], current: dict[str, Any], screen: float) -> Outcome:
    """Counts compared exactly; timings screened. Suspects are left for ``confirm``."""
    outcome = Outcome()
    outcome.busy = busier(baseline, current["meta"].get("probe") or {})
    old_rows, new_rows = Relative(baseline["results"]), Relative(current["results"])
    for key in sorted(old_rows.rows.keys() - new_rows.rows.keys()):
        outcome.missing.append(f"{name(old_rows.rows[key])}: in the baseline, not in this run")
    for key in sorted(new_rows.rows.keys() - old_rows.rows.keys()):
        outcome.missing.append(f"{name(new_rows.rows[key])}: new in this run, not in the baseline")
    shared_keys = sorted(old_rows.rows.keys() & new_rows.rows.keys())
    changes = drifts(old_rows, {key: new_rows.get(key) for key in shared_keys})
    for key in shared_keys:
        old, new = old_rows.rows[key], new_rows.rows[key]
        outcome.compared += 1
        _compare_counts(outcome, old, new)
        if "concurrency" in new:
            # W workers at once on a shared 2-core machine: throughput moves by half from run
            # to run. The counts hold; the timing is the report's, not a regression signal.
            continue
        base, now = held_to(old, old_rows.get(key)), new_rows.get(key)
        shared = base.keys() & now.keys()
        if not shared:
            continue
        outcome.timing_compared += 1
        drift = {clock: drift_of(changes, key, clock) for clock in shared}
        if outcome.busy is None and any(
            now[clock] / base[clock] / drift[clock] > screen for clock in shared
        ):
            outcome.suspects.append(Suspect(new, base, now))
    outcome.base = old_rows
    return outcome


def _compare_counts(outcome: Outcome, old: Row, new: Row) -> None:
    counts = (
        ("queries_per_op", "statements", 0.0, "A new query per call, or an N+1 come back"),
        (
            "round_trips_per_op",
            "round trips",
            ROUND_TRIP_TOLERANCE,
            "A new exchange per call: a transaction, a ping, a reset, or a statement",
        ),
    )
    race = races(new["scenario"]).get(new["variant"])
    if race:
        outcome.ungated.append(
            f"{name(new)}: {new.get('queries_per_op', 0):g} statements per call (baseline "
            f"{old.get('queries_per_op', 0):g}): {race}"
        )
        return
    if any(row.get(flag) for row in (old, new) for flag in ("queries_vary", "round_trips_vary")):
        _compare_varying_counts(outcome, old, new, counts)
        return
    for field_name, what, tolerance, hint in counts:
        if field_name not in old or field_name not in new:
            continue
        before, after = old[field_name], new[field_name]
        if after - before > tolerance:
            outcome.failures.append(
                f"{name(new)}: **{after:g} {what} per call, was {before:g}** "
                f"(+{after - before:g}). {hint}: look at what this variant sends "
                "(X-Query-Count and X-Round-Trips, or `echo`)."
            )
        elif before - after > tolerance:
            outcome.improvements.append(
                f"{name(new)}: {after:g} {what} per call, was {before:g}. Good; run "
                "`ormbench baseline update` so the baseline keeps the lower count."
            )


def _compare_varying_counts(outcome: Outcome, old: Row, new: Row, counts: tuple) -> None:
    """Counts that differ from call to call follow the machine's timing as well as the code,
    so they are held to a band, not to the exact figure: a cache to its hit ratio, anything
    else to a share of growth."""
    if old.get("hit_ratio") is not None and new.get("hit_ratio") is not None:
        if old["hit_ratio"] - new["hit_ratio"] > HIT_RATIO_BAND:
            outcome.failures.append(
                f"{name(new)}: **hit ratio {new['hit_ratio']:.0%}, was {old['hit_ratio']:.0%}**"
                f" ({new.get('queries_per_op', 0):g} statements per call, was "
                f"{old.get('queries_per_op', 0):g}). The cache hits less: look at its keys "
                "and at what invalidates it."
            )
        return
    for field_name, what, tolerance, hint in counts:
        before, after = old.get(field_name), new.get(field_name)
        if before is None or after is None:
            continue
        if after - before > max(before * VARYING_BAND, tolerance):
            outcome.failures.append(
                f"{name(new)}: **{after:g} {what} per call, was {before:g}** (it varies from "
                f"call to call, but not by more than {VARYING_BAND:.0%}). {hint}."
            )


def races(scenario: str) -> dict[str, str]:
    """The scenario's variants whose counts are a race (variant -> why), from its ``RACES``."""
    try:
        return dict(getattr(scenarios.load(scenario), "RACES", {}))
    except ValueError:  # a scenario this checkout no longer has: nothing of it is a race
        return {}


def to_rerun(suspects: Iterable[Suspect]) -> list[tuple[str, dict[str, Any]]]:
    """The (scenario, params) to run again: those of the suspects, once each."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for suspect in suspects:
        scenario, _, _, params = suspect.key
        wanted.setdefault((scenario, params), suspect.row["params"])
    return [(scenario, params) for (scenario, _), params in wanted.items()]


def confirm(
    outcome: Outcome,
    reruns: Iterable[Iterable[Row]],
    factor: float = DEFAULT_FACTOR,
    wall_factor: float = DEFAULT_WALL_FACTOR,
) -> None:
    """Decide every suspect on the median of its relative times in ``reruns`` (each a list
    of rows of the scenarios ``to_rerun`` named, run again)."""
    relatives = [Relative(rows) for rows in reruns]
    limits = {"cpu": factor, "wall": wall_factor}
    confirmed = _medians(relatives)
    changes = drifts(outcome.base, confirmed) if outcome.base else {}
    for suspect in outcome.suspects:
        if not confirmed.get(suspect.key):
            outcome.failures.append(
                f"{name(suspect.row)}: looked slower and could not be measured again."
            )
            continue
        suspect.confirmed = confirmed[suspect.key]
        suspect.drift = {c: drift_of(changes, suspect.key, c) for c in suspect.confirmed}
        over = [
            clock
            for clock, value in suspect.confirmed.items()
            if clock in suspect.base
            and value / suspect.base[clock] / suspect.drift[clock] > limits[clock]
        ]
        figures = _figures(suspect)
        if over:
            clocks = " and ".join(f"{clock} time" for clock in over)
            outcome.failures.append(
                f"{name(suspect.row)}: **slower relative to the floors, confirmed on "
                f"{clocks}**: {figures}. The statements did not change, so the time went "
                "into Python or the driver (CPU), or into waiting (wall): profile it."
            )
        else:
            outcome.noise.append(f"{name(suspect.row)}: {figures}: not confirmed, noise.")


def not_judged(outcome: Outcome, reason: str) -> None:
    """Leave every suspect undecided, saying why (the machine was too busy to tell)."""
    outcome.busy = reason
    for suspect in outcome.suspects:
        outcome.noise.append(f"{name(suspect.row)}: looked slower; not judged.")


def _medians(relatives: list[Relative]) -> dict[Key, dict[str, float]]:
    """Every row's relative time per clock, the median over the reruns it appears in."""
    found: dict[Key, dict[str, list[float]]] = {}
    for relative in relatives:
        for key in relative.rows:
            for clock, value in relative.get(key).items():
                found.setdefault(key, {}).setdefault(clock, []).append(value)
    return {
        key: {clock: statistics.median(values) for clock, values in clocks.items()}
        for key, clocks in found.items()
    }


def _figures(suspect: Suspect) -> str:
    parts = []
    for clock in CLOCKS:
        base = suspect.base.get(clock)
        if base is None:
            continue
        text = f"{clock} {base:.3g}"
        if (screened := suspect.screened.get(clock)) is not None:
            text += f" → {screened:.3g} in the run"
        if (confirmed := suspect.confirmed.get(clock)) is not None:
            drift = suspect.drift.get(clock, 1.0)
            text += f" → {confirmed:.3g} run again ({confirmed / base:.2f}x"
            if drift > 1.0:
                text += f"; {confirmed / base / drift:.2f}x past its group's drift of {drift:.2f}x"
            text += ")"
        parts.append(text)
    return "relative time " + "; ".join(parts)


def render(
    outcome: Outcome,
    baseline_label: str,
    screen: float = DEFAULT_SCREEN,
    factor: float = DEFAULT_FACTOR,
    wall_factor: float = DEFAULT_WALL_FACTOR,
    confirm_runs: int = DEFAULT_CONFIRM_RUNS,
) -> str:
    verdict = "**FAILED**" if outcome.failures else "**passed**"
    lines = [
        f"# ormbench check: {verdict}",
        "",
        *([f"**Time not judged**: {outcome.busy}.", ""] if outcome.busy else []),
        f"Compared {outcome.compared} rows with the baseline `{baseline_label}`: statements and "
        f"round trips per call exactly, and {outcome.timing_compared} rows by their time "
        "relative to the floors' rows of the same run, in wall time and CPU time. "
        f"{len(outcome.suspects)} grew by more than {screen:g}x past the highest of the "
        f"baseline's identical runs, and their scenarios were run {confirm_runs} times more; "
        f"a row fails if the median of those runs puts it more than {factor:g}x (CPU) or "
        f"{wall_factor:g}x (wall) above the baseline.",
        "",
    ]
    sections = (
        ("Failures", outcome.failures, "Nothing got worse."),
        ("Improvements (update the baseline to keep them)", outcome.improvements, None),
        ("Looked slower, not confirmed (noise)", outcome.noise, None),
        ("Rows on one side only", outcome.missing, None),
        ("Counts not gated: they are a race", outcome.ungated, None),
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
