"""Value types a client may send, parsed and range-checked before Feast, pandas or DuckDB.

Timestamps are ISO 8601 strings (a naive time is UTC) or epoch seconds, in years 1900-2199
(pandas' nanosecond timestamps end in 2262; earlier than 1900 is never a taxi trip). Integers
fit int64 (the online store's key type); floats are finite.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FIRST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
END_TIME = datetime(2200, 1, 1, tzinfo=UTC)

Int64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
Text = Annotated[str, Strict(), Field(min_length=1, max_length=1000)]
EntityValue = Int64 | Text
Column = Annotated[list[EntityValue], Field(min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


def _epoch(value: Any) -> Any:
    """Numbers (and numeric strings) are epoch seconds; pydantic would read large ones as ms."""
    if isinstance(value, bool):
        raise ValueError("a timestamp is an ISO 8601 string or epoch seconds")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, int | float):
        if not math.isfinite(value) or not (FIRST_TIME.timestamp() <= value < END_TIME.timestamp()):
            raise ValueError("epoch seconds must be within years 1900-2199")
        return datetime.fromtimestamp(value, UTC)
    return value


def _in_range(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not FIRST_TIME <= value < END_TIME:
        raise ValueError(f"{value.isoformat()} is outside years 1900-2199")
    return value


Timestamp = Annotated[
    datetime,
    Strict(False),  # ISO strings reach the datetime parser after _epoch, in strict models too
    BeforeValidator(_epoch),
    AfterValidator(_in_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "pattern": "^(19|20|21)[0-9]{2}-"},
                {
                    "type": "number",
                    "minimum": FIRST_TIME.timestamp(),
                    "exclusiveMaximum": END_TIME.timestamp(),
                },
            ],
            "description": "ISO 8601 (naive = UTC) or epoch seconds; years 1900-2199",
        }
    ),
]
_TIMESTAMPS = TypeAdapter(list[Timestamp])


def as_timestamps(name: str, values: list[Any]) -> list[datetime]:
    """A column of timestamps, or a ValueError naming the column and the first bad row."""
    try:
        return _TIMESTAMPS.validate_python(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{name}[{err['loc'][0]}]: {err['msg']}") from None


def check_columns(columns: dict[str, list[Any]], scalar_types: bool = True) -> None:
    """Equally long, non-empty columns; with ``scalar_types`` each holds a single type."""
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1 or 0 in lengths.values():
        raise ValueError(f"columns must be non-empty and equally long, got lengths {lengths}")
    if scalar_types:
        for name, values in columns.items():
            kinds = {type(v).__name__ for v in values}
            if name != "event_timestamp" and (len(kinds) > 1 or "float" in kinds):
                raise ValueError(f"{name}: values must be all integers or all strings")
