"""Text formatting of figures: durations, ratios, counts, params, and comparisons of two rows.

Every number in the report goes through here, so a figure reads the same in a table, a
finding and a chart label.
"""

import json
import math
from typing import Any

Row = dict[str, Any]  # one row of results.json, as read

TIMES = "\u00d7"  # multiplication sign, for ratios

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


def round_trips(row: Row) -> str:
    """Round trips per call, or "n/a" for a results file from before they were counted."""
    if "round_trips_per_op" not in row:
        return "n/a"
    text = count(row["round_trips_per_op"])
    return f"{text} (varies)" if row.get("round_trips_vary") else text


def cpu(row: Row) -> str:
    return duration(row["cpu_median_s"]) if "cpu_median_s" in row else "n/a"


def is_wrong(row: Row) -> bool:
    """A row that gave wrong answers (the caching scenario counts them): its time is no
    figure, since a fast wrong answer is not fast."""
    return bool(row.get("wrong_answers"))


def wrong_text(row: Row) -> str:
    return f"wrong: {row['wrong_answers']:,} of {row.get('reads', 0):,} answers"


def params_text(params: dict[str, Any]) -> str:
    if not params:
        return "no params"
    return ", ".join(
        f"{key} = {count(value) if isinstance(value, int) else value}"
        for key, value in params.items()
    )


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


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
