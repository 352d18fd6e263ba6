"""Statistics of features, computed by DuckDB where the data lies (Parquet or CSV).

Nothing is loaded into pandas: one aggregate query per table gives count, nulls, mean,
stddev, min, max and quantiles of every feature; one grouped query per feature gives its
histogram (numbers) or its top values (strings). A histogram can be asked on given edges, so a
recent window is binned exactly like its baseline (PSI needs the same bins).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from duckdb import ColumnExpression, ConstantExpression

from taxi_platform.duck import read_parquet
from taxi_platform.monitoring.models import FeatureStats, Histogram, TopValue

Kinds = Mapping[str, str]  # feature name -> "number" | "string"
QUANTILES = {"p25": 0.25, "p50": 0.5, "p75": 0.75}


def parquet_window(
    con: duckdb.DuckDBPyConnection, files: str | Path, start: datetime, end: datetime
) -> duckdb.DuckDBPyRelation:
    """The rows of ``files`` with event times in [start, end), as a relation (no SQL text)."""
    stamp = ColumnExpression("event_timestamp")
    window = (stamp >= utc_constant(start)) & (stamp < utc_constant(end))
    return read_parquet(con, files).filter(window)


def utc_constant(moment: datetime) -> ConstantExpression:
    """``moment`` as a plain UTC timestamp: compared with a zoned column in the connection's
    UTC zone, and with a plain (UTC) column as it is."""
    return ConstantExpression(moment.astimezone(UTC).replace(tzinfo=None))


def profile(
    con: duckdb.DuckDBPyConnection,
    source: duckdb.DuckDBPyRelation,
    kinds: Kinds,
    baseline: Mapping[str, FeatureStats] | None = None,
    bins: int = 10,
    top: int = 20,
    float32: Collection[str] = (),
) -> dict[str, FeatureStats]:
    """Statistics of each feature of ``kinds`` in ``source``; numbers are binned on their
    baseline's edges when ``baseline`` has the feature, else on their own ``bins`` quantiles
    (equal shares: PSI's usual bins, which skewed values like fares do not crowd into one).

    Features named in ``float32`` are read at that precision: a CSV holds a Float32 feature's
    shortest decimal (6.45), the Parquet its float (6.4499998...), and the two must bin alike.
    """
    source.create_view("profiled", replace=True)
    kinds = {name: kind for name, kind in kinds.items() if name in source.columns}
    if not kinds:
        return {}
    probs = sorted({*QUANTILES.values(), *(i / bins for i in range(bins + 1))})
    values_of = {name: _value(name, name in float32) for name in kinds}
    aggregates = _aggregates(kinds, values_of, probs)
    row = con.execute(f"SELECT {', '.join(aggregates)} FROM profiled").fetchone()
    total, values = row[0], iter(row[1:])
    out: dict[str, FeatureStats] = {}
    for name, kind in kinds.items():
        non_null, mean, stddev, low, high, quantiles = (next(values) for _ in range(6))
        stats = FeatureStats(
            kind=kind,
            count=total,
            null_rate=(total - non_null) / total if total else 0.0,
            min=low,
            max=high,
        )
        if kind == "number":
            stats.mean, stats.stddev = mean, stddev
            if quantiles is not None:
                at = dict(zip(probs, quantiles, strict=True))
                stats.quantiles = {key: at[prob] for key, prob in QUANTILES.items()}
                known = baseline.get(name) if baseline else None
                if known and known.histogram:
                    edges = known.histogram.edges
                else:
                    edges = _edges([at[i / bins] for i in range(bins + 1)])
                stats.histogram = histogram(con, values_of[name], edges)
        else:
            stats.top_values, stats.distinct_other = top_values(con, name, non_null, top)
        out[name] = stats
    return out


def _value(name: str, single: bool) -> str:
    """The SQL of a numeric feature's values as DOUBLE (through FLOAT when ``single``)."""
    return f'"{name}"::FLOAT::DOUBLE' if single else f'"{name}"::DOUBLE'


def _aggregates(kinds: Kinds, values_of: Mapping[str, str], probs: list[float]) -> list[str]:
    """Per feature: non-null count, mean, stddev, min, max, quantiles ``probs`` (numbers)."""
    columns = ["count(*)"]
    listed = ", ".join(repr(p) for p in probs)
    for name, kind in kinds.items():
        col = f'"{name}"'
        if kind == "number":
            value = values_of[name]
            columns += [
                f"count({col})", f"avg({value})", f"stddev_samp({value})",
                f"min({value})", f"max({value})", f"quantile_cont({value}, [{listed}])",
            ]  # fmt: skip
        else:
            columns += [f"count({col})", "NULL", "NULL", f"min({col})", f"max({col})", "NULL"]
    return columns


def _edges(quantiles: list[float]) -> list[float]:
    """Increasing bin edges from quantiles (ties of discrete values merged); one bin of width
    one when every value is equal."""
    edges = sorted(set(quantiles))
    return edges if len(edges) > 1 else [edges[0], edges[0] + 1.0]


def histogram(con: duckdb.DuckDBPyConnection, value: str, edges: list[float]) -> Histogram:
    """Counts of the non-null ``value`` (a feature's SQL, see ``_value``) per bin of ``edges``
    ([a, b), the last [a, b], as numpy's); values outside the edges count in the first or last
    bin, so a recent window binned on its baseline's edges keeps every row."""
    inner = edges[1:-1]
    cases = " ".join(f"WHEN x < $e{i} THEN {i}" for i in range(len(inner)))
    bin_of = f"CASE {cases} ELSE {len(inner)} END" if inner else "0"
    rows = con.execute(
        f"SELECT {bin_of} AS bin, count(*) FROM "
        f"(SELECT {value} AS x FROM profiled WHERE x IS NOT NULL) GROUP BY bin",
        {f"e{i}": edge for i, edge in enumerate(inner)},
    ).fetchall()
    counts = [0] * (len(edges) - 1)
    for index, count in rows:
        counts[index] = count
    return Histogram(edges=edges, counts=counts)


def top_values(
    con: duckdb.DuckDBPyConnection, name: str, non_null: int, top: int
) -> tuple[list[TopValue], int]:
    """The ``top`` most frequent values of ``name`` and how many non-null rows hold others."""
    rows = con.execute(
        f'SELECT "{name}"::VARCHAR, count(*) AS n FROM profiled WHERE "{name}" IS NOT NULL '
        "GROUP BY 1 ORDER BY n DESC, 1 LIMIT $top",
        {"top": top},
    ).fetchall()
    values = [TopValue(value=value, count=count) for value, count in rows]
    return values, non_null - sum(v.count for v in values)
