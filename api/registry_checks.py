"""Checks of request values against the registry: join keys and pushed columns of the right type.

The request models (api.models) check shapes; the types a column must have come from the
registered entities and views, so these run once the registry is at hand, still before any
value reaches Feast (a string area_id would otherwise fail deep in Ibis or the key encoder).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.exceptions import RequestValidationError
from feast import Entity, FeatureView
from feast.types import Bool, Float32, Float64, Int32, Int64, String
from feast.value_type import ValueType

from api.values import INT64_MAX, INT64_MIN

INT32_MAX = 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38
INT_KEYS = {ValueType.INT32, ValueType.INT64}


def check_join_keys(entities: Iterable[Entity], columns: dict[str, list[Any]], where: str) -> None:
    """Every value of a join-key column has the entity's type (int or str)."""
    kinds = {e.join_key: int if e.value_type in INT_KEYS else str for e in entities}
    for name, values in columns.items():
        kind = kinds.get(name)
        if kind is not None:
            _check(where, name, values, kind.__name__, lambda v, k=kind: type(v) is k)


def check_push_columns(view: FeatureView, df: dict[str, list[Any]]) -> None:
    """Each feature column fits its view's type (nulls allowed), and the plausible range its
    field declares in the tags ``min``/``max`` (feature_repo/taxi_features.py)."""
    for field in view.features:
        if field.name in df:
            values = df[field.name]
            _check("df", field.name, values, str(field.dtype), _fits(field.dtype))
            if "min" not in field.tags and "max" not in field.tags:
                continue
            low, high = float(field.tags.get("min", "-inf")), float(field.tags.get("max", "inf"))
            _check(
                "df", field.name, values, f"a value in [{low:g}, {high:g}]",
                lambda v, lo=low, hi=high: v is None or lo <= v <= hi,
            )  # fmt: skip


def _fits(dtype: object):
    if dtype == Int32:
        return lambda v: v is None or (type(v) is int and -INT32_MAX - 1 <= v <= INT32_MAX)
    if dtype == Int64:
        return lambda v: v is None or (type(v) is int and INT64_MIN <= v <= INT64_MAX)
    if dtype == Float32:
        return lambda v: v is None or (type(v) in (int, float) and abs(v) <= FLOAT32_MAX)
    if dtype == Float64:
        return lambda v: v is None or type(v) in (int, float)
    if dtype == String:
        return lambda v: v is None or type(v) is str
    if dtype == Bool:
        return lambda v: v is None or type(v) is bool
    return lambda v: False  # a view type this API cannot push: refuse rather than guess


def _check(where: str, name: str, values: list[Any], kind: str, ok) -> None:
    bad = next((i for i, v in enumerate(values) if not ok(v)), None)
    if bad is not None:
        raise RequestValidationError(
            [
                {
                    "loc": (where, name, bad),
                    "msg": f"expected {kind}, got {values[bad]!r}",
                    "type": "value_error",
                }
            ]
        )
