"""Reading the rows: one results document indexed the ways the report asks about it.

``Run`` knows the order of scenarios, variants, params and implementations (the registry's
order, not the order rows happen to be in), each scenario's module and its prose, and each
implementation's floor and color. The free functions group and pair rows.
"""

import re
from collections.abc import Iterable
from inspect import cleandoc
from types import ModuleType
from typing import Any

import scenarios
from benchmarks.report.formatting import Row, is_wrong, params_key
from implementations import IMPLEMENTATIONS

FLOOR_BY_DRIVER = {"psycopg2": "raw_psycopg2", "asyncpg": "raw_asyncpg"}
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


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

    def differs(self, scenario: str, variant: str) -> str | None:
        """What the variant says it does differently from the others of its operation."""
        for row in self.select(scenario, variant=variant):
            if row.get("differs"):
                return row["differs"]
        return None

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


def paired(run: Run, left: str, right: str) -> list[tuple[Row, Row]]:
    """Rows both implementations ran: same scenario, variant and params, in report order."""

    def key(row: Row) -> tuple[str, str, str]:
        return row["scenario"], row["variant"], params_key(row["params"])

    # Rows with wrong answers have no time to compare.
    others = {key(r): r for r in run.rows if r["implementation"] == right and not is_wrong(r)}
    pairs = [
        (r, others[key(r)])
        for r in run.rows
        if r["implementation"] == left and key(r) in others and not is_wrong(r)
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


def scenarios_title(run: Run, scenario: str) -> str:
    module = run.module(scenario)
    return title_and_body(module)[0] if module else scenario


def title_and_body(module: ModuleType) -> tuple[str, list[str]]:
    """The docstring's first paragraph is the title (it may wrap); the rest is the text."""
    text = cleandoc(module.__doc__ or module.__name__)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs[0].rstrip("."), paragraphs[1:]
