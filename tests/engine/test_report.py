"""The report reads a results file and says, in figures computed from its rows, what won.

The results documents here are built by hand (schema-valid, every scenario's real variants),
with chosen medians, so the headline figures the report must print are known in advance.
No test here times anything.
"""

import copy
import html as html_module
import re
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import scenarios
from benchmarks import results
from benchmarks.report import (
    anchor,
    duration,
    machine_text,
    plain,
    settings_text,
    title_and_body,
    write_report,
)
from implementations import IMPLEMENTATIONS
from tests.engine.test_round_trips import PINNED

FLOORS = {"psycopg2": "raw_psycopg2", "asyncpg": "raw_asyncpg"}
# Which variant each implementation offers: read from the real ports, so this test follows
# the scenarios as they grow.
OFFERED = {name: import_module(f"implementations.{name}.port").Port.HOW for name in IMPLEMENTATIONS}


def offered(implementation: str, variant: Any) -> bool:
    # The variant decides, as the runner asks it (a pooling variant asks by the port's name).
    return variant.applies_to(SimpleNamespace(name=implementation, HOW=OFFERED[implementation]))


ASYNC_OVER_SYNC = 1.25  # every async_sqlalchemy row is this much slower than sync's ...
ASYNC_FASTER = ("crud", "get_columns")  # ... except this one, where it is faster

# (scenario, variant, implementation, params subset) -> (median_s, statements per op)
CHOSEN = {
    ("eager_loading", "lazy", "sync_sqlalchemy", 100): (0.012, 101),
    ("eager_loading", "joined", "sync_sqlalchemy", 100): (0.0024, 1),
    ("eager_loading", "selectin", "sync_sqlalchemy", 100): (0.0012, 2),
    ("bulk_insert", "row_per_commit", "sync_sqlalchemy", 1000): (2.0, 1000),
    ("bulk_insert", "add_all", "sync_sqlalchemy", 1000): (0.3, 2),
    ("bulk_insert", "bulk_save_objects", "sync_sqlalchemy", 1000): (0.2, 1),
    ("bulk_insert", "insert_dicts", "sync_sqlalchemy", 1000): (0.04, 1),
    ("bulk_insert", "row_per_commit", "tortoise", 1000): (0.5, 1000),
    ("bulk_insert", "add_all", "tortoise", 1000): (0.6, 1000),
    ("bulk_insert", "bulk_create", "tortoise", 1000): (0.05, 1000),
    # A best way slower than the naive one must read "slower", not "0.5 times faster".
    ("eager_loading", "lazy", "raw_psycopg2", 100): (0.001, 101),
    ("eager_loading", "join", "raw_psycopg2", 100): (0.002, 1),
    ("crud", "get_legacy_query", "sync_sqlalchemy", None): (0.00033, 1),
    ("crud", "get_entity", "sync_sqlalchemy", None): (0.0003, 1),
    ("crud", "get_columns", "sync_sqlalchemy", None): (0.00022, 1),
    ("crud", "get_by_sql", "raw_psycopg2", None): (0.0002, 1),
    ("crud", "get_in_transaction", "raw_psycopg2", None): (0.00025, 1),
    ("crud", "get_autocommit", "sync_sqlalchemy", None): (0.00024, 1),
}


def reason(implementation: str, variant: str) -> str:
    library = "SQLAlchemy" if "sqlalchemy" in implementation else implementation
    return f"{library} offers no {variant} way (test reason)"


def chosen(scenario: str, variant: str, implementation: str, params: dict[str, Any]) -> Any:
    size = params.get("n", params.get("rows"))
    for key in (
        (scenario, variant, implementation, size),
        (scenario, variant, implementation, None),
    ):
        if key in CHOSEN:
            return CHOSEN[key]
    return None


def median_and_statements(
    scenario: str, index: int, variant: str, implementation: str, params: dict[str, Any]
) -> tuple[float, int]:
    if implementation == "async_sqlalchemy":
        sync, statements = median_and_statements(
            scenario, index, variant, "sync_sqlalchemy", params
        )
        factor = 0.8 if (scenario, variant) == ASYNC_FASTER else ASYNC_OVER_SYNC
        return sync * factor, statements
    picked = chosen(scenario, variant, implementation, params)
    if picked:
        return picked
    return 0.001 * (index + 1) * (1 + list(IMPLEMENTATIONS).index(implementation) / 10), 1


def row(
    scenario: str, index: int, variant: Any, implementation: str, params: dict[str, Any]
) -> dict[str, Any]:
    median, statements = median_and_statements(
        scenario, index, variant.name, implementation, params
    )
    driver, mode = IMPLEMENTATIONS[implementation]
    return {
        "scenario": scenario,
        "variant": variant.name,
        "label": variant.label,
        "implementation": implementation,
        "operation": variant.operation,
        "how": variant.how,
        "mode": mode,
        "driver": driver,
        "params": params,
        "rounds": 20,
        "calls": 1,
        "median_s": median,
        "p95_s": median * 1.2,
        "iqr_s": median * 0.1,
        "ops_per_s": 1 / median,
        "queries_per_op": statements,
        "rows_per_op": 1,
        "floor_ratio": None,
        "samples_s": [median] * 3,
        "cpu_median_s": median * 0.6,
        "round_trips_per_op": PINNED.get((implementation, variant.how), statements)
        if variant.operation == "get_user"
        else statements,
    }


def add_floor_ratios(rows: list[dict[str, Any]]) -> None:
    """As the runner does: this median / the floor's median, same params, same driver."""
    for each in rows:
        floors = scenarios.load(each["scenario"]).FLOOR  # by variant, else by operation
        floor_variant = floors.get(each["variant"], floors.get(each["operation"]))
        if floor_variant is None:
            continue  # pooling takes its ratios per configuration, not per operation
        floor = FLOORS[each["driver"]]
        match = [
            r
            for r in rows
            if (r["scenario"], r["variant"], r["implementation"], r["params"])
            == (each["scenario"], floor_variant, floor, each["params"])
        ]
        if match:
            each["floor_ratio"] = each["median_s"] / match[0]["median_s"]
            each["floor"] = {"variant": floor_variant, "implementation": floor}


def document(leave_out: tuple[str, ...] = ("transactions",)) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    not_applicable = []
    for scenario in scenarios.SCENARIOS:
        if scenario in leave_out:
            continue
        module = scenarios.load(scenario)
        for params in module.PARAMS["quick"]:
            for index, variant in enumerate(module.VARIANTS):
                for implementation in IMPLEMENTATIONS:
                    if not offered(implementation, variant):
                        continue
                    rows.append(row(scenario, index, variant, implementation, params))
        not_applicable += [
            {
                "scenario": scenario,
                "variant": variant.name,
                "implementation": implementation,
                "reason": reason(implementation, variant.name),
            }
            for variant in module.VARIANTS
            for implementation in IMPLEMENTATIONS
            if not offered(implementation, variant)
        ]
    add_floor_ratios(rows)
    made = {
        "meta": {
            "started_at": "2026-01-02T03:04:05+00:00",
            "git_commit": "0123456789abcdef",
            "python": "3.11.2",
            "postgres": "PostgreSQL 18.1",
            "packages": {"sqlalchemy": "2.1.0", "asyncpg": "0.32.0"},
            "machine": {
                "system": "Linux",
                "architecture": "x86_64",
                "cpu": "Test CPU 3000",
                "cores": 2,
                "memory_gib": 7.7,
            },
            "profile": "quick",
            "database": "embedded",
            "settings": {
                "pool_size": 10,
                "max_overflow": 0,
                "password_hash": "argon2id t=1 m=8 KiB (lowered for benchmarks)",
                "implementations": list(IMPLEMENTATIONS),
            },
        },
        "results": rows,
        "not_applicable": not_applicable,
    }
    results.validate(made)
    return made


def text_of(page: str) -> str:
    """What a browser shows: tags dropped, entities decoded."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", page))


def report(tmp_path: Path, made: dict[str, Any]) -> tuple[list[Path], str, str]:
    results.write(made, tmp_path / "results.json")
    paths = write_report(tmp_path)
    return paths, (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], str, str]:
    return report(tmp_path_factory.mktemp("report"), document())


def test_writes_markdown_html_and_one_chart_per_scenario_and_params(full: Any) -> None:
    paths, _, _ = full
    names = {path.name for path in paths}
    assert {"report.md", "report.html"} <= names
    made = document()
    expected = {
        f"chart-{scenario}-{number}.png"
        for scenario in scenarios.SCENARIOS
        if any(r["scenario"] == scenario for r in made["results"])
        for number in range(1, len(scenarios.load(scenario).PARAMS["quick"]) + 1)
    }
    # Families add charts of their own, named chart-<scenario>-<stem>-<n>.png.
    per_params = {name for name in names if re.fullmatch(r"chart-[a-z_]+-\d+\.png", name)}
    assert per_params == expected
    for path in paths:
        assert path.is_file()
        if path.suffix == ".png":
            assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_header_says_what_was_run_and_how_to_read_it(full: Any) -> None:
    _, markdown, _ = full
    for text in (
        "`quick`",
        "0123456789abcdef",
        "cpu: Test CPU 3000; cores: 2; memory: 7.70 GiB",
        "3.11.2",
        "PostgreSQL 18.1",
        "embedded",
        "sqlalchemy 2.1.0",
        "Pool: 10 connections",
        "Password hashing: argon2id t=1 m=8 KiB (lowered for benchmarks)",
        "not in this run: transactions",
        "floor_ratio",
        "raw_psycopg2",
        "deterministic",
    ):
        assert text in markdown


def test_headline_figures_are_computed_from_the_rows(full: Any) -> None:
    _, markdown, html = full
    headline = markdown.split("## Headline findings")[1].split("\n## ")[0]
    # N+1 at n = 100: lazy 12 ms with 101 statements vs selectinload 1.2 ms with 2.
    assert (
        "`sync_sqlalchemy`: the lazy loop is 10.0\u00d7 slower than its best eager way, "
        "\u201cselectinload: users, then tasks WHERE user_id IN (...)\u201d: "
        "12.0 ms vs 1.20 ms, 101 statements vs 2." in headline
    )
    # Bulk insert at 1000 rows: insert_dicts 40 ms vs one row per commit 2 s.
    assert (
        "`sync_sqlalchemy`: \u201c2.0 insert() with a list of dicts\u201d is 50.0\u00d7 faster "
        "than one row per commit: 40.0 ms vs 2.00 s, 1 statement vs 1,000." in headline
    )
    assert "\u201cTortoise bulk_create\u201d is 10.0\u00d7 faster than one row per commit" in (
        headline
    )
    assert "`raw_psycopg2`: the lazy loop is 2.00\u00d7 faster than its best eager way" in headline
    # Get by id, against both floors: the entity (3 round trips) at 1.5 times the autocommit
    # floor and 1.2 times the floor in BEGIN ... ROLLBACK; in autocommit (1 round trip) the
    # entity is 1.2 times the floor that pays the same. CPU is 60% of each median here.
    entity = table_row(headline, "`sync_sqlalchemy`", "get by id: ORM entity")
    assert entity[2:7] == ["3", "300 \u00b5s", "180 \u00b5s", "120 \u00b5s", "1.50\u00d7"]
    assert entity[7].startswith("1.20\u00d7 (\u201cget by id: hand-written SQL inside BEGIN")
    autocommit = table_row(headline, "`sync_sqlalchemy`", "get by id: ORM entity on an autocommit")
    assert autocommit[2] == "1"
    assert autocommit[6] == "1.20\u00d7"
    assert autocommit[7].startswith("1.20\u00d7 (\u201cget by id: hand-written SQL (floor)")
    assert table_row(headline, "`tortoise`", "get by id: ORM entity")[2] == "2"
    assert table_row(headline, "`raw_asyncpg` (floor)", "get by id: hand-written SQL (floor)")
    # Sync vs async: async is 1.25 times slower everywhere but one row.
    pairs = sum(
        r["implementation"] == "async_sqlalchemy" and r["scenario"] != "pooling"  # one at a time
        for r in document()["results"]
    )
    assert f"faster than `sync_sqlalchemy` on 1 of {pairs} rows and slower on {pairs - 1}" in (
        headline
    )
    assert "median async/sync ratio is 1.25\u00d7, so async is slower" in headline
    assert "not throughput under concurrency" in headline
    assert "Cannot be computed" not in headline
    assert "10.0\u00d7 slower" in html


def table_row(markdown: str, first: str, label: str) -> list[str]:
    """The cells of the Markdown table row whose first two cells are ``first`` and one that
    is ``label`` or, failing that, starts with it."""
    found = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0] == first and cells[1].startswith(label):
            found.append(cells)
    exact = [cells for cells in found if cells[1] == label]
    assert exact or found, f"no table row {first} / {label}"
    return (exact or found)[0]


def test_every_scenario_has_a_section_with_its_docstring_tables_and_reasons(full: Any) -> None:
    _, markdown, html = full
    made = document()
    for scenario in scenarios.SCENARIOS:
        title, body = title_and_body(scenarios.load(scenario))
        assert f"## {title}\n" in markdown
        assert plain(title) in text_of(html)
        assert f"(#{anchor(title)})" in markdown
        if scenario != "transactions":
            assert body[0] in markdown
    for entry in made["not_applicable"]:
        if entry["scenario"] != "transactions":
            assert entry["reason"] in markdown
            assert entry["reason"] in text_of(html)
    # Implementations excluded for the same reason share one line.
    assert "| sync_sqlalchemy, async_sqlalchemy | SQLAlchemy offers no prefetch way" in markdown
    assert "| variant" in markdown
    assert "floor_ratio |" in markdown


def test_markdown_tables_line_up_in_a_terminal(full: Any) -> None:
    _, markdown, _ = full
    tables = re.findall(r"(?:^\|.*\|\n)+", markdown, flags=re.MULTILINE)
    assert tables
    for table in tables:
        widths = {len(line) for line in table.splitlines()}
        assert len(widths) == 1, table


def test_html_is_self_contained(full: Any) -> None:
    paths, _, html = full
    charts = [p for p in paths if p.suffix == ".png"]
    assert html.count('<img src="data:image/png;base64,') == len(charts)
    assert re.findall(r'(?:src|href)="(?!data:|#)', html) == []
    anchors = set(re.findall(r' id="([^"]+)"', html))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= anchors
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    assert "<link" not in html


def test_missing_scenarios_and_rows_are_reported_not_crashed_on(tmp_path: Path) -> None:
    made = document(leave_out=("eager_loading", "bulk_insert", "transactions"))
    made["results"] = [r for r in made["results"] if r["implementation"] != "async_sqlalchemy"]
    made["not_applicable"] = []
    paths, markdown, html = report(tmp_path, made)
    assert "Cannot be computed: this run has no `eager_loading` rows with n = 100." in markdown
    assert "Cannot be computed: this run has no `bulk_insert` rows." in markdown
    assert "Cannot be computed: no (scenario, variant, params) was run by both" in markdown
    assert markdown.count("Not in this run: there are no rows for this scenario.") == 3
    assert "not in this run: eager_loading, bulk_insert, transactions" in markdown
    assert not any(p.name.startswith("chart-eager_loading") for p in paths)
    assert "Cannot be computed" in html


def test_a_row_without_its_floor_says_the_ratio_cannot_be_computed(tmp_path: Path) -> None:
    made = copy.deepcopy(document())
    made["results"] = [
        r
        for r in made["results"]
        if (r["variant"], r["implementation"]) != ("get_by_sql", "raw_psycopg2")
    ]
    for each in made["results"]:
        if each["scenario"] == "crud" and each["implementation"] == "sync_sqlalchemy":
            each["floor_ratio"] = None
    _, markdown, _ = report(tmp_path, made)
    assert (
        "`sync_sqlalchemy`: cannot be computed, the floor's row (`get_by_sql` on `raw_psycopg2`) "
        "is missing." in markdown
    )


def test_rewriting_a_report_drops_charts_of_an_earlier_one(tmp_path: Path) -> None:
    stale = tmp_path / "chart-gone-1.png"
    stale.write_bytes(b"old")
    paths, _, _ = report(tmp_path, document(leave_out=tuple(scenarios.SCENARIOS[1:])))
    assert not stale.exists()
    assert sorted(p.name for p in paths if p.suffix == ".png") == ["chart-crud-1.png"]


def test_anchors_follow_github() -> None:
    assert anchor("1. The N+1 penalty at N = 100") == "1-the-n1-penalty-at-n--100"
    assert anchor("Bulk update: change ``completed`` on N tasks") == (
        "bulk-update-change-completed-on-n-tasks"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 ns"),
        (5e-9, "5.00 ns"),
        (1.234e-4, "123 \u00b5s"),
        (9.996e-4, "1.00 ms"),
        (0.00123, "1.23 ms"),
        (12.34, "12.3 s"),
        (1234.0, "1,230 s"),
    ],
)
def test_durations_have_units_and_three_significant_figures(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_machine_sizes_read_in_gib_and_unknown_settings_are_still_shown() -> None:
    assert machine_text({"memory_bytes": 8 * 2**30, "swap": None, "cores": 4}) == (
        "memory: 8.00 GiB; cores: 4"
    )
    assert settings_text({"password_hash_time_cost": 1, "password_hash_memory_kib": 8})[
        0
    ].startswith("Password hashing: argon2id t=1 m=8 KiB")
    assert settings_text({"pool_timeout": 30}) == ["Other settings: pool_timeout = 30"]
