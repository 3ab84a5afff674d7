"""The report of one run: ``report.md``, ``report.html`` and one chart per scenario and params.

It reads only ``results.json`` (and the scenario modules' docstrings, which are the report's
prose). Every figure in the headline findings is computed from the rows; when the rows a
finding needs are missing, the finding says so instead of guessing. The Markdown and the
HTML are rendered from one list of blocks, so they always say the same thing.
"""

import base64
import html
import json
import math
import re
import statistics
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from inspect import cleandoc
from pathlib import Path
from types import ModuleType
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

import scenarios
from benchmarks import results
from implementations import IMPLEMENTATIONS

Row = dict[str, Any]

TIMES = "\u00d7"  # multiplication sign, for ratios
FLOOR_BY_DRIVER = {"psycopg2": "raw_psycopg2", "asyncpg": "raw_asyncpg"}
GET_FLOOR = "get_by_sql"  # crud's floor for get by id
SYNC_ORM, ASYNC_ORM = "sync_sqlalchemy", "async_sqlalchemy"
LOG_SCALE_SPREAD = 30  # a linear axis hides the fast bars beyond this max/min spread
NOISE = 0.05  # async/sync ratios within this of 1 are within run-to-run noise
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
TABLE_HEADERS = [
    "variant",
    "implementation",
    "median",
    "p95",
    "IQR",
    "ops/s",
    "statements/op",
    "rows/op",
    "floor_ratio",
]
PAIR_HEADERS = [
    "scenario",
    "variant",
    "params",
    "sync median",
    "async median",
    "async/sync",
    "statements sync / async",
]
HOW_TO_READ = (
    "Every figure is per operation: one call of the variant, one request's worth of work. "
    "Each row is a warm-up followed by repeated rounds, with the variants of a scenario "
    "interleaved (A B C A B C ...) so that drift of the machine hits them alike. **median** is "
    "the median round, **p95** the round 95% of rounds were faster than, **IQR** the spread of "
    "the middle half of the rounds (p75 - p25), **ops/s** = 1 / median. **statements/op** are "
    "the SQL statements sent (SELECT, INSERT, UPDATE, DELETE, COPY; not BEGIN, COMMIT or "
    "SAVEPOINT), counted the same way for every implementation, and **rows/op** the rows "
    "returned or written: both are exact and deterministic, the same on every run and every "
    "machine. **floor_ratio** = median / the median of the scenario's floor (the best "
    "hand-written SQL for the same result) on the same driver, `raw_psycopg2` for sync "
    "implementations and `raw_asyncpg` for async ones, with the same params in this same run: "
    f"1.00{TIMES} is the floor, 2.00{TIMES} twice as slow. Timings are not deterministic: "
    "they depend on this machine and vary between runs, so compare ratios, not absolute "
    "times across machines."
)


# --- the blocks both renderers share ------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()  # right-aligned columns


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


Block = Heading | Paragraph | Bullets | Table | Image


# --- formatting --------------------------------------------------------------------------

_UNITS = (("ns", 1e-9), ("\u00b5s", 1e-6), ("ms", 1e-3), ("s", 1.0))


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures, without an exponent."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits}g}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}"


def duration(seconds: float) -> str:
    """A duration with its unit, 3 significant figures: ``123 µs``, ``1.23 ms``, ``12.3 s``."""
    if seconds == 0:
        return "0 ns"
    for index, (unit, scale) in enumerate(_UNITS):
        scaled = float(f"{seconds / scale:.3g}")
        if scaled < 1000 or index == len(_UNITS) - 1:
            return f"{significant(scaled)} {unit}"
    raise AssertionError("unreachable")


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{significant(value)}{TIMES}"


def count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def statements(row: Row) -> str:
    text = count(row["queries_per_op"])
    return f"{text} (varies)" if row.get("queries_vary") else text


def params_text(params: dict[str, Any]) -> str:
    if not params:
        return "no params"
    return ", ".join(
        f"{key} = {count(value) if isinstance(value, int) else value}"
        for key, value in params.items()
    )


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


# --- reading the rows --------------------------------------------------------------------


class Run:
    """One results document, indexed the ways the report asks about it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.meta: dict[str, Any] = document["meta"]
        self.rows: list[Row] = document["results"]
        self.not_applicable: list[dict[str, Any]] = document.get("not_applicable", [])
        self.modules: dict[str, ModuleType | None] = {}
        seen = dict.fromkeys(row["scenario"] for row in self.rows)
        known = list(scenarios.SCENARIOS)
        self.scenarios = known + [s for s in seen if s not in known]
        names = dict.fromkeys(row["implementation"] for row in self.rows)
        self.implementations = [i for i in IMPLEMENTATIONS if i in names] + [
            i for i in names if i not in IMPLEMENTATIONS
        ]

    def module(self, scenario: str) -> ModuleType | None:
        if scenario not in self.modules:
            try:
                self.modules[scenario] = scenarios.load(scenario)
            except (ValueError, ImportError):
                self.modules[scenario] = None
        return self.modules[scenario]

    def select(self, scenario: str, **where: Any) -> list[Row]:
        return [
            row
            for row in self.rows
            if row["scenario"] == scenario and all(row.get(k) == v for k, v in where.items())
        ]

    def variant_order(self, scenario: str) -> list[str]:
        module = self.module(scenario)
        known = [v.name for v in module.VARIANTS] if module else []
        extra = dict.fromkeys(row["variant"] for row in self.select(scenario))
        return known + [v for v in extra if v not in known]

    def label(self, scenario: str, variant: str) -> str:
        for row in self.select(scenario, variant=variant):
            if row.get("label"):
                return row["label"]
        module = self.module(scenario)
        if module:
            try:
                return module.VARIANTS[variant].label
            except KeyError:
                pass
        return variant

    def params_sets(self, scenario: str) -> list[dict[str, Any]]:
        """The params of the scenario's rows, in the profile's order where known."""
        present = {params_key(row["params"]): row["params"] for row in self.select(scenario)}
        module = self.module(scenario)
        declared = module.PARAMS.get(self.meta["profile"], []) if module else []
        ordered = [params_key(p) for p in declared if params_key(p) in present]
        ordered += [key for key in present if key not in ordered]
        return [present[key] for key in ordered]

    def implementation_rank(self, name: str) -> int:
        return self.implementations.index(name) if name in self.implementations else 99

    def sorted_rows(self, scenario: str, params: dict[str, Any]) -> list[Row]:
        order = self.variant_order(scenario)
        rows = [r for r in self.select(scenario) if r["params"] == params]
        return sorted(
            rows,
            key=lambda r: (
                order.index(r["variant"]),
                self.implementation_rank(r["implementation"]),
            ),
        )

    def floor_of(self, implementation: str, row: Row | None = None) -> str | None:
        floor = (row or {}).get("floor") or {}
        if floor.get("implementation"):
            return floor["implementation"]
        driver = (row or {}).get("driver") or IMPLEMENTATIONS.get(implementation, ("",))[0]
        return FLOOR_BY_DRIVER.get(driver)

    def color(self, implementation: str) -> str:
        # By the registry, not by who ran: an implementation keeps its color in every report.
        known = list(IMPLEMENTATIONS)
        if implementation in known:
            return COLORS[known.index(implementation) % len(COLORS)]
        return COLORS[(len(known) + self.implementation_rank(implementation)) % len(COLORS)]


def fastest(rows: Iterable[Row]) -> Row | None:
    return min(rows, key=lambda r: r["median_s"], default=None)


def by_implementation(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["implementation"], []).append(row)
    return grouped


def ordered_groups(run: Run, rows: Iterable[Row]) -> list[tuple[str, list[Row]]]:
    grouped = by_implementation(rows)
    return sorted(grouped.items(), key=lambda item: run.implementation_rank(item[0]))


def compared(this: float, that: float) -> str:
    """``this`` against ``that`` as a factor above one: "3.00x slower", never "0.333x faster"."""
    if this >= that:
        return f"{significant(this / that)}{TIMES} slower"
    return f"{significant(that / this)}{TIMES} faster"


def statements_count(value: float) -> str:
    return f"{count(value)} statement" + ("" if value == 1 else "s")


def figures(this: Row, that: Row) -> str:
    """The medians and statement counts behind a comparison of two rows."""
    return (
        f"{duration(this['median_s'])} vs {duration(that['median_s'])}, "
        f"{statements_count(this['queries_per_op'])} vs {count(that['queries_per_op'])}"
    )


# --- header --------------------------------------------------------------------------------


_SIZES = {"_bytes": 1, "_kib": 2**10, "_kb": 2**10, "_mib": 2**20, "_mb": 2**20, "_gib": 2**30}


def machine_item(key: str, value: Any) -> str:
    """``memory_bytes: 8589934592`` reads ``memory: 8.00 GiB``; anything else as given."""
    for suffix, scale in _SIZES.items():
        if key.endswith(suffix) and isinstance(value, int | float) and not isinstance(value, bool):
            name = key.removesuffix(suffix).replace("_", " ")
            return f"{name}: {significant(value * scale / 2**30)} GiB"
    return f"{key.replace('_', ' ')}: {value}"


def machine_text(machine: dict[str, Any]) -> str:
    items = [machine_item(k, v) for k, v in machine.items() if v not in (None, "")]
    return "; ".join(items) or "not recorded"


def settings_text(settings: dict[str, Any]) -> list[str]:
    items = []
    if "pool_size" in settings:
        overflow = settings.get("max_overflow", 0)
        items.append(
            f"Pool: {settings['pool_size']} connections, max overflow {overflow}, the same for "
            "every implementation"
        )
    cost = settings.get("password_hash")
    if cost is None and "password_hash_time_cost" in settings:
        cost = (
            f"argon2id t={settings['password_hash_time_cost']} "
            f"m={settings.get('password_hash_memory_kib')} KiB"
        )
    if cost is not None:
        items.append(
            f"Password hashing: {cost}, lowered from the API's default so that creating a user "
            "measures the database, not the hash"
        )
    # Implementations are listed from the rows; the rest is shown as recorded.
    shown = {"pool_size", "max_overflow", "password_hash", "implementations"}
    shown |= {"password_hash_time_cost", "password_hash_memory_kib"}
    rest = {k: v for k, v in settings.items() if k not in shown}
    if rest:
        items.append("Other settings: " + ", ".join(f"{k} = {v}" for k, v in rest.items()))
    return items


def header(run: Run) -> list[Block]:
    meta = run.meta
    packages = ", ".join(f"{name} {version}" for name, version in sorted(meta["packages"].items()))
    present = [s for s in run.scenarios if run.select(s)]
    missing = [s for s in scenarios.SCENARIOS if s not in present]
    items = [
        f"Profile: `{meta['profile']}`; started {meta['started_at']}; git commit "
        f"`{meta['git_commit']}`",
        f"Machine: {machine_text(meta['machine'])}",
        f"Python {meta['python']}; {meta['postgres']} ({meta['database']} database)",
        f"Packages: {packages or 'not recorded'}",
        *settings_text(meta.get("settings") or {}),
        f"Scenarios run: {', '.join(present) or 'none'}"
        + (f"; not in this run: {', '.join(missing)}" if missing else ""),
        f"Implementations: {', '.join(run.implementations) or 'none'}; {len(run.rows)} rows",
    ]
    return [
        Heading(1, "ormbench report"),
        Heading(2, "What was run"),
        Bullets(items),
        Heading(2, "How to read it"),
        Paragraph(HOW_TO_READ),
    ]


# --- headline findings ---------------------------------------------------------------------


def n_plus_one(run: Run) -> list[str]:
    rows = [r for r in run.select("eager_loading") if r["params"].get("n") == 100]
    if not rows:
        return ["Cannot be computed: this run has no `eager_loading` rows with n = 100."]
    params = next(p for p in run.params_sets("eager_loading") if p.get("n") == 100)
    lines = [f"At {params_text(params)}:"]
    for implementation, own in ordered_groups(run, [r for r in rows if r["params"] == params]):
        lazy = next((r for r in own if r["variant"] == "lazy"), None)
        best = fastest(r for r in own if r["variant"] != "lazy")
        if lazy is None or best is None:
            lacking = "the lazy loop" if lazy is None else "an eager variant"
            lines.append(f"`{implementation}`: cannot be computed, no row for {lacking}.")
            continue
        lines.append(
            f"`{implementation}`: the lazy loop is {compared(lazy['median_s'], best['median_s'])} "
            f"than its best eager way, \u201c{run.label('eager_loading', best['variant'])}\u201d: "
            f"{figures(lazy, best)}."
        )
    return lines


def bulk_speedup(run: Run) -> list[str]:
    rows = [r for r in run.select("bulk_insert") if "rows" in r["params"]]
    if not rows:
        return ["Cannot be computed: this run has no `bulk_insert` rows."]
    largest = max(r["params"]["rows"] for r in rows)
    lines = [f"At {count(largest)} rows:"]
    at_largest = [r for r in rows if r["params"]["rows"] == largest]
    for implementation, own in ordered_groups(run, at_largest):
        naive = next((r for r in own if r["variant"] == "row_per_commit"), None)
        best = fastest(r for r in own if r["variant"] != "row_per_commit")
        if naive is None or best is None:
            lacking = "one row per commit" if naive is None else "a batched variant"
            lines.append(f"`{implementation}`: cannot be computed, no row for {lacking}.")
            continue
        lines.append(
            f"`{implementation}`: \u201c{run.label('bulk_insert', best['variant'])}\u201d is "
            f"{compared(best['median_s'], naive['median_s'])} than one row per commit: "
            f"{figures(best, naive)}."
        )
    return lines


def get_floor_row(run: Run, row: Row) -> Row | None:
    floor = run.floor_of(row["implementation"], row)
    found = run.select("crud", variant=GET_FLOOR, implementation=floor, params=row["params"])
    return found[0] if found else None


def floor_ratio_of(run: Run, row: Row) -> float | None:
    if row["floor_ratio"] is not None:
        return row["floor_ratio"]
    base = get_floor_row(run, row)
    return row["median_s"] / base["median_s"] if base else None


def get_overhead(run: Run) -> list[str]:
    rows = [r for r in run.select("crud") if r["variant"].startswith("get_")]
    if not rows:
        return ["Cannot be computed: this run has no `crud` get-by-id rows."]
    params = next(p for p in run.params_sets("crud") if any(r["params"] == p for r in rows))
    rows = [r for r in rows if r["params"] == params]
    floors = set(FLOOR_BY_DRIVER.values())
    lines = [f"Get by id at {params_text(params)}, as floor_ratio (1.00{TIMES} = the floor):"]
    orms = [(i, own) for i, own in ordered_groups(run, rows) if i not in floors]
    if not orms:
        lines.append("Cannot be computed: no ORM has get-by-id rows in this run.")
    for implementation, own in orms:
        lines.append(orm_overhead(run, implementation, own))
    return lines


def orm_overhead(run: Run, implementation: str, own: list[Row]) -> str:
    floor = run.floor_of(implementation, own[0])
    entity = next((r for r in own if r["variant"] == "get_entity"), None)
    best = fastest(own)
    if any(floor_ratio_of(run, r) is None for r in (entity, best) if r is not None):
        return (
            f"`{implementation}`: cannot be computed, the floor's row "
            f"(`{GET_FLOOR}` on `{floor}`) is missing."
        )
    parts = []
    if entity is None:
        parts.append("no row for the ORM entity (`get_entity`)")
    else:
        parts.append(
            f"the ORM entity is {ratio(floor_ratio_of(run, entity))} its floor `{floor}` "
            f"({duration(entity['median_s'])}{against(get_floor_row(run, entity))})"
        )
    if best is not None and best is not entity:
        parts.append(
            f"its fastest read, \u201c{run.label('crud', best['variant'])}\u201d, "
            f"{ratio(floor_ratio_of(run, best))} ({duration(best['median_s'])})"
        )
    return f"`{implementation}`: {'; '.join(parts)}."


def against(floor: Row | None) -> str:
    return f" vs {duration(floor['median_s'])}" if floor else ""


def paired(run: Run, left: str, right: str) -> list[tuple[Row, Row]]:
    """Rows both implementations ran: same scenario, variant and params, in report order."""

    def key(row: Row) -> tuple[str, str, str]:
        return row["scenario"], row["variant"], params_key(row["params"])

    others = {key(r): r for r in run.rows if r["implementation"] == right}
    pairs = [
        (r, others[key(r)]) for r in run.rows if r["implementation"] == left and key(r) in others
    ]
    return sorted(pairs, key=lambda pair: report_order(run, pair[0]))


def report_order(run: Run, row: Row) -> tuple[int, int, int]:
    scenario = row["scenario"]
    params = [params_key(p) for p in run.params_sets(scenario)]
    return (
        run.scenarios.index(scenario),
        params.index(params_key(row["params"])),
        run.variant_order(scenario).index(row["variant"]),
    )


def ratio_summary(pairs: list[tuple[Row, Row]]) -> tuple[int, int, int, float]:
    ratios = [b["median_s"] / a["median_s"] for a, b in pairs]
    faster = sum(r < 1 for r in ratios)
    noise = sum(abs(r - 1) <= NOISE for r in ratios)
    return faster, len(ratios) - faster, noise, statistics.median(ratios)


def sync_vs_async(run: Run) -> list[Block]:
    pairs = paired(run, SYNC_ORM, ASYNC_ORM)
    if not pairs:
        return [
            Paragraph(
                f"Cannot be computed: no (scenario, variant, params) was run by both "
                f"`{SYNC_ORM}` and `{ASYNC_ORM}` in this run."
            )
        ]
    faster, slower, noise, middle = ratio_summary(pairs)
    verdict = "faster" if middle < 1 else "slower"
    summary = (
        f"`{ASYNC_ORM}` was faster than `{SYNC_ORM}` on {faster} of {len(pairs)} rows and slower "
        f"on {slower} ({noise} of them within \u00b1{NOISE:.0%}, about run-to-run noise); the "
        f"median async/sync ratio is {ratio(middle)}, so async is {verdict} per call here. "
        "These are single-connection latencies, one call at a time: they measure what async "
        "costs or saves per operation, not throughput under concurrency, where an event loop "
        "keeps many requests waiting on the database at once. That question is for the load runs."
    )
    blocks: list[Block] = [Paragraph(summary)]
    floors = paired(run, "raw_psycopg2", "raw_asyncpg")
    if floors:
        *_, floor_middle = ratio_summary(floors)
        blocks.append(
            Paragraph(
                f"For reference, the raw drivers on the same kind of comparison "
                f"({len(floors)} rows): median `raw_asyncpg` / `raw_psycopg2` ratio "
                f"{ratio(floor_middle)}. The gap between the two ratios is what the ORM layer "
                "adds on top of the driver."
            )
        )
    blocks.append(
        Table(
            PAIR_HEADERS,
            [
                [
                    sync["scenario"],
                    run.label(sync["scenario"], sync["variant"]),
                    params_text(sync["params"]),
                    duration(sync["median_s"]),
                    duration(other["median_s"]),
                    ratio(other["median_s"] / sync["median_s"]),
                    f"{statements(sync)} / {statements(other)}",
                ]
                for sync, other in pairs
            ],
            numeric=(3, 4, 5, 6),
        )
    )
    return blocks


def headline(run: Run) -> list[Block]:
    findings: list[tuple[str, list[str]]] = [
        ("The N+1 penalty at N = 100", n_plus_one(run)),
        ("The best bulk insert against one row per commit", bulk_speedup(run)),
        ("Each ORM's overhead over its floor, get by id", get_overhead(run)),
    ]
    blocks: list[Block] = [Heading(2, "Headline findings")]
    for number, (name, lines) in enumerate(findings, start=1):
        blocks += [Heading(3, f"{number}. {name}"), Paragraph(lines[0])]
        if lines[1:]:
            blocks.append(Bullets(lines[1:]))
    blocks.append(Heading(3, "4. Sync vs async SQLAlchemy, head to head: is async faster?"))
    return blocks + sync_vs_async(run)


# --- charts --------------------------------------------------------------------------------


def chart(run: Run, scenario: str, params: dict[str, Any], path: Path) -> None:
    rows = run.sorted_rows(scenario, params)
    positions, labels, ticks = [], [], []
    y = 0.0
    for variant in run.variant_order(scenario):
        group = [r for r in rows if r["variant"] == variant]
        if not group:
            continue
        start = y
        for _row in group:
            positions.append(y)
            y += 1
        ticks.append((start + y - 1) / 2)
        labels.append(textwrap.fill(run.label(scenario, variant), 34))
        y += 0.8
    medians = [r["median_s"] for r in rows]
    p95s = [max(r["p95_s"], r["median_s"]) for r in rows]
    height = 1.8 + 0.32 * len(rows) + 0.12 * len(ticks)
    figure = Figure(figsize=(10, height), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    axes.barh(
        positions,
        medians,
        height=0.85,
        color=[run.color(r["implementation"]) for r in rows],
        xerr=[[0] * len(rows), [p - m for p, m in zip(p95s, medians, strict=True)]],
        error_kw={"ecolor": "#333333", "capsize": 3, "elinewidth": 1},
    )
    log = max(p95s) / min(medians) > LOG_SCALE_SPREAD
    style_axis(axes, log, max(p95s), min(medians))
    for position, row, p95 in zip(positions, rows, p95s, strict=True):
        note = f" {duration(row['median_s'])}, {count(row['queries_per_op'])} stmt"
        axes.text(p95, position, note, va="center", fontsize=8)
    axes.set_yticks(ticks, labels, fontsize=9)
    axes.invert_yaxis()
    axes.set_title(f"{scenarios_title(run, scenario)}\n{params_text(params)}", fontsize=10)
    shown = dict.fromkeys(r["implementation"] for r in rows)
    figure.legend(
        handles=[Patch(color=run.color(i), label=i) for i in shown],
        loc="outside lower center",
        ncols=len(shown),
        fontsize=8,
        frameon=False,
    )
    figure.savefig(path, format="png", metadata={"Software": None})


def style_axis(axes: Any, log: bool, high: float, low: float) -> None:
    axes.set_xlabel(
        "median time per operation, whisker to p95" + (" (log scale)" if log else ""), fontsize=9
    )
    # Tick marks are round numbers: "10 ms" reads better than "10.0 ms" on an axis.
    formatter = FuncFormatter(lambda value, _: tick(value))
    if log:
        axes.set_xscale("log")
        axes.set_xlim(low / 2, high * 6)
        axes.xaxis.set_minor_formatter(NullFormatter())
    else:
        axes.set_xlim(0, high * 1.3)
    axes.xaxis.set_major_formatter(formatter)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)


def tick(seconds: float) -> str:
    if seconds <= 0:
        return "0"
    return re.sub(r"\.0+ ", " ", duration(seconds))


def scenarios_title(run: Run, scenario: str) -> str:
    module = run.module(scenario)
    return title_and_body(module)[0] if module else scenario


def title_and_body(module: ModuleType) -> tuple[str, list[str]]:
    """The docstring's first paragraph is the title (it may wrap); the rest is the text."""
    text = cleandoc(module.__doc__ or module.__name__)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs[0].rstrip("."), paragraphs[1:]


# --- one section per scenario --------------------------------------------------------------


def results_table(run: Run, scenario: str, params: dict[str, Any]) -> Table:
    return Table(
        TABLE_HEADERS,
        [
            [
                run.label(scenario, row["variant"]),
                row["implementation"],
                duration(row["median_s"]),
                duration(row["p95_s"]),
                duration(row["iqr_s"]),
                significant(row["ops_per_s"]),
                statements(row),
                count(row["rows_per_op"]),
                ratio(row["floor_ratio"]),
            ]
            for row in run.sorted_rows(scenario, params)
        ],
        numeric=(2, 3, 4, 5, 6, 7, 8),
    )


def rounds_note(rows: list[Row]) -> str:
    rounds = sorted({r["rounds"] for r in rows})
    span = str(rounds[0]) if len(rounds) == 1 else f"{rounds[0]} to {rounds[-1]}"
    return f"Rounds per row: {span}."


def floor_note(run: Run, scenario: str) -> str | None:
    module = run.module(scenario)
    if module is None or not getattr(module, "FLOOR", None):
        return None
    floors = sorted(set(module.FLOOR.values()), key=run.variant_order(scenario).index)
    names = ", ".join(f"\u201c{run.label(scenario, v)}\u201d" for v in floors)
    return f"Floor: {names}, on `raw_psycopg2` for sync and `raw_asyncpg` for async rows."


def not_applicable(run: Run, scenario: str) -> Table | None:
    """One line per (variant, reason), naming every implementation it excludes."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for entry in run.not_applicable:
        if entry["scenario"] == scenario:
            key = (entry["variant"], entry["reason"])
            grouped.setdefault(key, []).append(entry["implementation"])
    if not grouped:
        return None
    order = run.variant_order(scenario)
    items = sorted(
        grouped.items(), key=lambda item: order.index(item[0][0]) if item[0][0] in order else 99
    )
    return Table(
        ["variant", "does not apply to", "why"],
        [
            [run.label(scenario, variant), ", ".join(implementations), reason]
            for (variant, reason), implementations in items
        ],
    )


def section(run: Run, scenario: str, charts: Callable[[str, int], Path]) -> list[Block]:
    module = run.module(scenario)
    heading, body = title_and_body(module) if module else (scenario, [])
    blocks: list[Block] = [Heading(2, heading), Paragraph(f"Scenario `{scenario}`.")]
    if not run.select(scenario):
        return [*blocks, Paragraph("Not in this run: there are no rows for this scenario.")]
    blocks += [Paragraph(text) for text in body]
    note = floor_note(run, scenario)
    if note:
        blocks.append(Paragraph(note))
    for number, params in enumerate(run.params_sets(scenario), start=1):
        path = charts(scenario, number)
        chart(run, scenario, params, path)
        blocks += [
            Heading(3, params_text(params)),
            Image(path, f"{scenario}: median and p95 per variant, {params_text(params)}"),
            results_table(run, scenario, params),
            Paragraph(rounds_note(run.sorted_rows(scenario, params))),
        ]
    missing = not_applicable(run, scenario)
    if missing:
        blocks += [Paragraph("Variants that do not apply to an implementation:"), missing]
    return blocks


# --- rendering -----------------------------------------------------------------------------


def markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(table: Table) -> list[str]:
    cells = [[markdown_cell(c) for c in row] for row in [table.headers, *table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]

    def line(row: list[str]) -> str:
        padded = [
            c.rjust(w) if i in table.numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [("-" * (w - 1) + ":") if i in table.numeric else "-" * w for i, w in enumerate(widths)]
    return [line(cells[0]), "| " + " | ".join(rule) + " |", *(line(r) for r in cells[1:]), ""]


def to_markdown(blocks: list[Block], base: Path) -> str:
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                out += ["#" * level + " " + text, ""]
            case Paragraph(text):
                out += [text, ""]
            case Bullets(items):
                out += [f"- {item}" for item in items] + [""]
            case Table():
                out += markdown_table(block)
            case Image(path, alt):
                out += [f"![{alt}]({path.relative_to(base).as_posix()})", ""]
    return "\n".join(out)


def inline_html(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"``(.+?)``|`(.+?)`", lambda m: f"<code>{m[1] or m[2]}</code>", escaped)
    escaped = re.sub(r"\[([^\]]+)\]\((#[\w-]+)\)", r'<a href="\2">\1</a>', escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def html_table(table: Table) -> str:
    def cells(row: list[str], tag: str) -> str:
        return "".join(
            f"<{tag}{' class=num' if i in table.numeric else ''}>{inline_html(c)}</{tag}>"
            for i, c in enumerate(row)
        )

    body = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in table.rows)
    head = f"<thead><tr>{cells(table.headers, 'th')}</tr></thead>"
    return f"<table>\n{head}\n<tbody>\n{body}\n</tbody>\n</table>"


def html_image(image: Image) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    alt = html.escape(image.alt)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{alt}"></figure>'


def html_block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f'<h{level} id="{anchor(text)}">{inline_html(text)}</h{level}>'
        case Paragraph(text):
            return f"<p>{inline_html(text)}</p>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>"
        case Table():
            return html_table(block)
        case Image():
            return html_image(block)
    raise TypeError(block)


CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
h2 { margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { background: #f2f2f2; padding: 0 3px; border-radius: 3px; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
"""


def to_html(blocks: list[Block]) -> str:
    body = "\n".join(html_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>ormbench report</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# --- the entry point -----------------------------------------------------------------------


def build(run: Run, results_dir: Path) -> tuple[list[Block], list[Path]]:
    charts: list[Path] = []

    def chart_path(scenario: str, number: int) -> Path:
        charts.append(results_dir / f"chart-{scenario}-{number}.png")
        return charts[-1]

    body = headline(run)
    for scenario in run.scenarios:
        body += section(run, scenario, chart_path)
    return header(run) + contents(body) + body, charts


def contents(blocks: list[Block]) -> list[Block]:
    """Links to every second-level heading (GitHub and the HTML page use the same anchors)."""
    headings = [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]
    return [Heading(2, "Contents"), Bullets([f"[{plain(t)}](#{anchor(t)})" for t in headings])]


def plain(text: str) -> str:
    return text.replace("`", "").replace("**", "")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", plain(heading).lower()).replace(" ", "-")


def write_report(results_dir: Path) -> list[Path]:
    """Read ``results_dir/results.json``; write ``report.md``, ``report.html`` and the charts
    (``chart-<scenario>-<n>.png``) beside it; return the paths written."""
    results_dir = Path(results_dir)
    run = Run(results.read(results_dir / "results.json"))
    for stale in results_dir.glob("chart-*.png"):
        stale.unlink()  # charts of an earlier report of this folder that this run may not have
    blocks, charts = build(run, results_dir)
    markdown = results_dir / "report.md"
    markdown.write_text(to_markdown(blocks, results_dir))
    page = results_dir / "report.html"
    page.write_text(to_html(blocks))
    return [markdown, page, *charts]
