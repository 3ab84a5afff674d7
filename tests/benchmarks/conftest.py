import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Benchmarks are long: ``make test`` skips them, ``make pytest-bench`` runs them."""
    if config.getoption("benchmark_only"):
        return
    skip = pytest.mark.skip(reason="a benchmark: run it with make pytest-bench")
    for item in items:
        if "tests/benchmarks/" in str(item.path):
            item.add_marker(skip)
