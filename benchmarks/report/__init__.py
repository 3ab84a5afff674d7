"""The report of one run: ``report.md``, ``report.html`` and one chart per scenario and params.

It reads only ``results.json`` (and the scenario modules' docstrings, which are the report's
prose). Every figure in the headline findings is computed from the rows; when the rows a
finding needs are missing, the finding says so instead of guessing. The Markdown and the
HTML are rendered from one list of blocks, so they always say the same thing.

The modules, one job each, in the order the report is built:

- ``blocks``: the blocks (Heading, Paragraph, Bullets, Table, Image) both renderers take;
- ``formatting``: durations, ratios, counts and params as text;
- ``rows``: ``Run``, the results document indexed by scenario, variant and implementation;
- ``header``: what was run, where, and how to read the figures;
- ``findings``: the headline findings;
- ``charts``: the bar chart of one scenario and params;
- ``sections``: one section per scenario, and the hook below;
- ``render``: Markdown, HTML, and the contents with their anchors;
- ``pooling`` and ``pooling_advice``: the pooling family's section (tables, charts, advice)
  and its headline finding, sync vs async under concurrency;
- this module: ``build`` puts the blocks in order, ``write_report`` writes the files.

Adding to a scenario's section (pooling, caching, indexing, ...): write
``benchmarks/report/<family>.py`` that builds blocks and registers them by scenario name,
then import it below, so that it registers before any report is built::

    from benchmarks.report.blocks import Image, Table
    from benchmarks.report.sections import register_section

    def hit_rates(run, scenario, params, charts):  # under each params set, after its table
        return [Table(...)]

    def against_size(run, scenario, charts):  # once, after all params sets
        path = charts(f"{scenario}-size", 1)  # chart-<scenario>-size-1.png, listed and cleaned
        ...  # draw and save the PNG at path
        return [Image(path, "...")]

    register_section("caching", per_params=hit_rates, after=against_size)

Both builders are optional; a scenario can be registered once; a section without rows calls
neither. The standard blocks are unchanged, so the report of other scenarios is the same.
"""

from pathlib import Path

from benchmarks import results

# Scenario families' report modules: each registers its blocks on import.
from benchmarks.report import (
    caching,  # noqa: F401
    indexing,  # noqa: F401
    pooling,  # noqa: F401
)
from benchmarks.report.blocks import Block
from benchmarks.report.findings import headline
from benchmarks.report.formatting import duration
from benchmarks.report.header import header, machine_text, settings_text
from benchmarks.report.render import anchor, contents, plain, to_html, to_markdown
from benchmarks.report.rows import Run, title_and_body
from benchmarks.report.sections import register_section, section

__all__ = [
    "Run",
    "anchor",
    "build",
    "duration",
    "machine_text",
    "plain",
    "register_section",
    "settings_text",
    "title_and_body",
    "write_report",
]


def build(run: Run, results_dir: Path) -> tuple[list[Block], list[Path]]:
    """The report's blocks in order, and the charts they show (drawn into ``results_dir``)."""
    charts: list[Path] = []

    def chart_path(stem: str, number: int) -> Path:
        path = results_dir / f"chart-{stem}-{number}.png"
        # A family's chart named like another chart would overwrite it without a word.
        if path in charts:
            raise ValueError(f"two charts of this report are named {path.name}")
        charts.append(path)
        return path

    body = headline(run)
    for scenario in run.scenarios:
        body += section(run, scenario, chart_path)
    return header(run) + contents(body) + body, charts


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
