"""The parts of ``ormbench load`` that need no server: thresholds, durations, the running
order, locust's percentile, and the command's refusals."""

import pytest
from typer.testing import CliRunner

from benchmarks.cli import app
from benchmarks.cli.load import parse_duration
from benchmarks.load import thresholds
from benchmarks.load.figures import percentile
from benchmarks.load.runner import LoadPlan
from implementations import IMPLEMENTATIONS

FIGURES = {"requests": 1000, "failures": 5, "exceptions": 0, "rps": 250.0, "p95_ms": 40.0}


@pytest.mark.parametrize(
    ("text", "passed"),
    [
        ("failures=0", False),
        ("failures=0.005", True),
        ("failures=0.4%", False),
        ("failures=1%", True),
        ("p95=40ms", True),
        ("p95=39", False),
        ("p95=0.05s", True),
        ("rps=250", True),
        ("rps=251", False),
    ],
)
def test_thresholds(text: str, passed: bool) -> None:
    assert thresholds.parse(text).verdict(FIGURES)[0] is passed


def test_an_exception_in_the_locustfile_counts_as_a_failure() -> None:
    clean = {**FIGURES, "failures": 0}
    assert thresholds.parse("failures=0").verdict(clean)[0]
    assert not thresholds.parse("failures=0").verdict({**clean, "exceptions": 1})[0]
    assert not thresholds.parse("failures=1").verdict({**clean, "requests": 0})[0]


@pytest.mark.parametrize("text", ["p90=10ms", "failures", "failures=2", "p95=fast", "rps=x"])
def test_bad_thresholds_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--fail-on"):
        thresholds.parse(text)


def test_durations_in_locusts_notation() -> None:
    assert [parse_duration(t) for t in ("30s", "20", "2m", "1h30m", "1m5s")] == [
        30,
        20,
        120,
        5400,
        65,
    ]


def test_the_order_is_seeded_and_reverses_each_round() -> None:
    plan = LoadPlan(implementations=list(IMPLEMENTATIONS), rounds=3, order_seed=7)
    sequence = plan.sequence()
    first = [name for number, name in sequence if number == 1]
    assert sorted(first) == sorted(IMPLEMENTATIONS)
    assert [name for number, name in sequence if number == 2] == first[::-1]
    assert [name for number, name in sequence if number == 3] == first
    assert LoadPlan(list(IMPLEMENTATIONS), order_seed=7).sequence() == sequence[:5]
    seeds = {tuple(LoadPlan(list(IMPLEMENTATIONS), order_seed=s).sequence()) for s in range(20)}
    assert len(seeds) > 1  # the seed decides; no implementation always goes first


def test_percentile_is_locusts() -> None:
    """Locust's definition (stats.calculate_response_time_percentile), which its own HTML
    report uses: the largest response time with at most int(n * p) requests faster."""
    histogram = {10: 90, 20: 9, 300: 1}  # 100 requests
    assert [percentile(histogram, 100, p) for p in (0.5, 0.9, 0.95, 0.99, 1.0)] == [
        10,
        20,
        20,
        300,
        300,
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--impl", "all", "--ui"], "--ui explores one implementation"),
        (["--impl", "django"], "unknown implementation 'django'"),
        (["--fail-on", "p42=1"], "--fail-on 'p42=1'"),
        (["--duration", "soon"], "--duration 'soon'"),
    ],
)
def test_refusals(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["load", *args])
    assert result.exit_code == 2
    assert message in result.output
