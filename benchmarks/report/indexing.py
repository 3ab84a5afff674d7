"""The indexing scenario's blocks: per index set, its indexes and each row's plan beside its
time; across the sets, what each index buys a query and costs a write, and whether the ORMs'
migration tools can build each index (``benchmarks/index_tools.json``)."""

from typing import Any

from matplotlib.figure import Figure

from benchmarks import index_tools
from benchmarks.report.blocks import Block, Bullets, Heading, Image, Paragraph, Table
from benchmarks.report.charts import ChartPath, style_axis
from benchmarks.report.formatting import Row, compared, count, duration, significant
from benchmarks.report.rows import Run
from benchmarks.report.sections import register_section

SCENARIO = "indexing"
SHOWN = "raw_psycopg2"  # across the sets: the thinnest client, so the server's work shows
WRITE = "insert_copy"
LISTING = "open_newest"  # the filtered listing the composite index is for
BASELINE_SET = "migrations"
MB = 1024 * 1024


def plan_of(row: Row) -> dict[str, Any] | None:
    """What the row's statements did to tasks: plan kind, access path, rows read, buffers,
    heap fetches (None for a row without plans, such as COPY)."""
    entries = [p for p in row.get("plans") or [] if p.get("summary")]
    reading = [p for p in entries if p["summary"]["access"]]
    if not reading:
        return None
    fetches = [p["summary"]["heap_fetches"] for p in reading]
    fetches = [f for f in fetches if f is not None]
    return {
        "kind": "/".join(dict.fromkeys(p["plan_kind"] for p in reading)),
        "access": "; ".join(p["summary"]["access"] for p in reading),
        "rows": sum(p["summary"]["tasks_rows"] for p in reading),
        "hit": sum(p["summary"]["shared_hit"] for p in entries),
        "read": sum(p["summary"]["shared_read"] for p in entries),
        "heap_fetches": sum(fetches) if fetches else None,
    }


def _size(value: int) -> str:
    return f"{significant(value / MB)} MB" if value >= MB else f"{significant(value / 1024)} kB"


def _set_of(rows: list[Row]) -> dict[str, Any]:
    return next((r["setup"] for r in rows if r.get("setup")), {})


# --- under each index set ----------------------------------------------------------------


def per_params(run: Run, scenario: str, params: dict[str, Any], _charts: ChartPath) -> list[Block]:
    rows = run.sorted_rows(scenario, params)
    setup = _set_of(rows)
    if not setup:
        return []
    blocks: list[Block] = [
        Paragraph(
            f"Index set \u201c{setup['label']}\u201d: {setup['reason']}. tasks holds "
            f"{count(setup['tasks'])} rows ({_size(setup['tasks_bytes'])} of heap), seeded "
            f"by COPY in {duration(setup['seed_s'])} into the bare table; the set's indexes "
            "were built after it, then VACUUM ANALYZE."
        ),
        Table(
            ["index", "definition", "why", "size", "built in"],
            [["pk_tasks", "PRIMARY KEY (id)", "every set has it", _size(setup["pk_bytes"]), ""]]
            + [
                [
                    index["name"],
                    index["ddl"],
                    index["reason"],
                    _size(index["bytes"]),
                    duration(index["build_s"]),
                ]
                for index in setup["indexes"]
            ],
            numeric=(3, 4),
        ),
        Paragraph(
            "Each row's plan: EXPLAIN (ANALYZE, BUFFERS) of the SQL that implementation sent, "
            "its statements that read tasks (a user's delete: the cascade its foreign key "
            "sets off). Plan custom: planned for the values; generic: asyncpg's prepared "
            "statement after five executions, one plan for any values."
        ),
        plans_table(run, scenario, rows),
    ]
    notes = plan_differences(run, scenario, rows)
    if notes:
        blocks += [Paragraph("Where the implementations' plans differ, and why:"), notes]
    return blocks


def plans_table(run: Run, scenario: str, rows: list[Row]) -> Table:
    lines = []
    for row in rows:
        plan = plan_of(row)
        if plan is None:
            label = run.label(scenario, row["variant"])
            median = duration(row["median_s"])
            lines.append([label, row["implementation"], median, "", "COPY: no plan", "", "", ""])
            continue
        fetches = plan["heap_fetches"]
        lines.append(
            [
                run.label(scenario, row["variant"]),
                row["implementation"],
                duration(row["median_s"]),
                plan["kind"],
                plan["access"],
                count(plan["rows"]),
                f"{count(plan['hit'])} / {count(plan['read'])}",
                "" if fetches is None else count(fetches),
            ]
        )
    headers = ["query", "implementation", "median", "plan", "how tasks was read"]
    headers += ["tasks rows", "buffers hit / read", "heap fetches"]
    return Table(headers, lines, numeric=(2, 5, 6, 7))


def plan_differences(run: Run, scenario: str, rows: list[Row]) -> Bullets | None:
    items = []
    for variant in run.variant_order(scenario):
        plans = {
            r["implementation"]: plan
            for r in rows
            if r["variant"] == variant and (plan := plan_of(r)) is not None
        }
        ways: dict[str, list[str]] = {}
        for implementation, plan in plans.items():
            ways.setdefault(plan["access"], []).append(implementation)
        if len(ways) < 2:
            continue
        kinds = {
            access: "/".join(sorted({plans[name]["kind"] for name in names}))
            for access, names in ways.items()
        }
        partial = [i["name"] for i in _set_of(rows).get("indexes", []) if " WHERE " in i["ddl"]]
        if len({"Parallel" in access for access in ways}) > 1:
            why = (
                "the SQL differs, and only one got parallel workers: a subquery run once per "
                "row of its outer query (the floors' LATERAL page of one user) gets none"
            )
        elif len({any(name in access for name in partial) for access in ways}) > 1:
            why = (
                "a partial index serves only a plan that sees its predicate's value: a custom "
                "plan, or SQL with the value written in (SQLAlchemy writes completed = false); "
                "a generic plan over a parameter cannot use it"
            )
        elif len(set(kinds.values())) > 1:
            why = (
                "one plan is generic (asyncpg's prepared statement, planned once for any "
                "values), the other custom (planned for these values)"
            )
        else:
            why = "the SQL differs"
        parts = [
            f"{', '.join(names)}: {access} ({kinds[access]})" for access, names in ways.items()
        ]
        items.append(f"{run.label(scenario, variant)}: {why}. " + "; ".join(parts) + ".")
    return Bullets(items) if items else None


# --- across the index sets -----------------------------------------------------------------


def across_sets(run: Run, scenario: str, charts: ChartPath) -> list[Block]:
    sets = [p for p in run.params_sets(scenario) if "index_set" in p]
    if len(sets) < 2:
        return []
    names = [p["index_set"] for p in sets]
    queries = [v for v in run.variant_order(scenario) if v != WRITE]
    medians: dict[tuple[str, str], Row] = {
        (r["params"]["index_set"], r["variant"]): r
        for r in run.select(scenario, implementation=SHOWN)
    }
    blocks: list[Block] = [Heading(3, "Across the index sets")]
    findings = headline(run, scenario, names, medians)
    if findings:
        blocks.append(Bullets(findings))
    blocks += [
        Paragraph(f"Median per query and index set on `{SHOWN}`, and how tasks was read:"),
        Table(
            ["query", *names],
            [
                [run.label(scenario, query)]
                + [
                    _cell(medians.get((name, query)), medians.get((BASELINE_SET, query)))
                    for name in names
                ]
                for query in queries
            ],
        ),
    ]
    path = charts(f"{scenario}-sets", 1)
    draw(run, scenario, names, queries, medians, path)
    blocks.append(Image(path, f"{scenario}: median per query and index set on {SHOWN}"))
    blocks += write_costs(run, scenario, sets)
    blocks += declarations()
    return blocks


def _cell(row: Row | None, baseline: Row | None) -> str:
    if row is None:
        return ""
    plan = plan_of(row)
    text = duration(row["median_s"])
    if baseline is not None and baseline is not row:
        text += f" ({significant(row['median_s'] / baseline['median_s'])}\u00d7)"
    return f"{text}: {plan['access']}" if plan else text


def headline(
    run: Run, scenario: str, names: list[str], medians: dict[tuple[str, str], Row]
) -> list[str]:
    """The figures the scenario exists for, computed from this run's rows."""
    items = []
    listing = {name: medians.get((name, LISTING)) for name in names}
    if listing.get(BASELINE_SET):
        with_index = listing[BASELINE_SET]
        for name in ("pk_only", "single_column"):
            if listing.get(name):
                items.append(
                    f"{run.label(scenario, LISTING)} on `{SHOWN}`: without the composite index "
                    f"({name}) {duration(listing[name]['median_s'])}, with it ({BASELINE_SET}) "
                    f"{duration(with_index['median_s'])}: "
                    f"{compared(listing[name]['median_s'], with_index['median_s'])} without."
                )
    for better in ("covering", "partial"):
        if better not in names or BASELINE_SET not in names:
            continue
        gains = [
            gain(run, scenario, base, new)
            for variant in run.variant_order(scenario)
            if (base := medians.get((BASELINE_SET, variant)))
            and (new := medians.get((better, variant)))
        ]
        if gains:
            items.append(
                f"{better} against the migrations' set, on `{SHOWN}`: " + "; ".join(gains) + "."
            )
    if len(items) > 1:
        items.append(
            "The sets run one after another, so their times also carry the machine's drift "
            "between them; the buffers a plan read do not, and a query whose plan did not "
            "change between two sets shows how large that drift was."
        )
    return items


def gain(run: Run, scenario: str, base: Row, new: Row) -> str:
    """One query under the migrations' set and a better one: time, and buffers read."""
    text = f"{run.label(scenario, new['variant'])} {compared(new['median_s'], base['median_s'])}"
    before, after = plan_of(base), plan_of(new)
    if before is None or after is None:
        return text
    if before["access"] == after["access"]:
        return text + " (the same plan)"
    buffers = (
        f"{count(before['hit'] + before['read'])} \u2192 {count(after['hit'] + after['read'])}"
    )
    return text + f" (buffers {buffers})"


def draw(
    run: Run,
    scenario: str,
    names: list[str],
    queries: list[str],
    medians: dict[tuple[str, str], Row],
    path: Any,
) -> None:
    figure = Figure(figsize=(10, 1.5 + 0.9 * len(queries)), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(names)
    values = []
    for offset, name in enumerate(names):
        found = [
            (i, medians[(name, q)]["median_s"])
            for i, q in enumerate(queries)
            if (name, q) in medians
        ]
        values += [v for _, v in found]
        axes.barh(
            [i + offset * width for i, _ in found],
            [v for _, v in found],
            height=width,
            label=name,
        )
    if not values:
        return
    log = max(values) / min(values) > 30
    style_axis(axes, log, max(values), min(values))
    axes.set_xlabel("median time per call" + (" (log scale)" if log else ""), fontsize=9)
    axes.set_yticks(
        [i + width * (len(names) - 1) / 2 for i in range(len(queries))],
        [run.label(scenario, q) for q in queries],
        fontsize=8,
    )
    axes.invert_yaxis()
    axes.set_title(f"Median per query and index set, on {SHOWN}", fontsize=10)
    figure.legend(loc="outside lower center", ncols=len(names), fontsize=8, frameon=False)
    figure.savefig(path, format="png", metadata={"Software": None})


def write_costs(run: Run, scenario: str, sets: list[dict[str, Any]]) -> list[Block]:
    lines = []
    first: dict[str, float] = {}
    for params in sets:
        rows = [r for r in run.select(scenario) if r["params"] == params]
        setup = _set_of(rows)
        writes = {r["implementation"]: r for r in rows if r["variant"] == WRITE}
        if not setup or not writes:
            continue
        cells = []
        for implementation in run.implementations:
            row = writes.get(implementation)
            if row is None:
                continue
            first.setdefault(implementation, row["median_s"])
            per_second = row["rows_per_op"] / row["median_s"]
            cells.append(
                f"{implementation}: {duration(row['median_s'])}, {significant(per_second)} rows/s"
                f" ({significant(row['median_s'] / first[implementation])}\u00d7)"
            )
        indexes = setup["indexes"]
        lines.append(
            [
                params["index_set"],
                count(len(indexes) + 1),
                _size(setup["pk_bytes"] + sum(i["bytes"] for i in indexes)),
                "; ".join(cells),
            ]
        )
    if not lines:
        return []
    rows = sets[0].get("insert_rows")
    return [
        Paragraph(
            f"What each set costs: its indexes on disk (primary key included, after the seed) "
            f"and COPY of {count(rows) if rows else 'a batch of'} new tasks, every index kept up "
            f"to date row by row (\u00d7 against the first set)."
        ),
        Table(["index set", "indexes", "on disk", "COPY (median, throughput)"], lines),
    ]


def declarations() -> list[Block]:
    record = index_tools.read_record()
    if record is None:
        return []
    tools = ", ".join(f"{name} {version}" for name, version in record["tools"].items())
    return [
        Paragraph(
            "Each index as the ORMs' models declare it, and what their migration tools made "
            f"of it: run for real on throwaway databases ({tools}) by `ormbench indexes`, "
            "re-run by the test suite; \u201creproduced\u201d means PostgreSQL's definition "
            "of the index the tool built equals the scenario's."
        ),
        Table(*index_tools.table(record)),
    ]


register_section(SCENARIO, per_params=per_params, after=across_sets)
