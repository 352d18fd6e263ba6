"""Tables of the dashboard: user input to request bodies, API answers to DataFrames and files.

Plain functions of data (no Streamlit), so they are tested on their own.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pandas as pd

from api.models import OnlineFeaturesResponse, Prediction

TIMESTAMP = "event_timestamp"
INTEGER_KEYS = {"area_id"}  # join keys of integer type; trip_id and company_name are strings


class InputError(ValueError):
    """The user's input cannot become a request; the message says what to fix."""


def parse_ids(text: str) -> list[str]:
    """Trip ids separated by commas, spaces or new lines."""
    ids = [part for part in text.replace(",", " ").split() if part]
    if not ids:
        raise InputError("enter at least one trip id, e.g. trip_010719")
    return ids


def read_table(text: str = "", upload: bytes | None = None, name: str = "") -> pd.DataFrame:
    """Rows typed as CSV (a header line first) or an uploaded CSV or Parquet file."""
    try:
        if upload is not None:
            reader = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
            frame = reader(io.BytesIO(upload))
        else:
            frame = pd.read_csv(io.StringIO(text.strip()), skipinitialspace=True)
    except Exception as exc:  # pandas raises many kinds; each is a message for the user
        raise InputError(f"cannot read the rows: {exc}") from None
    if frame.empty:
        raise InputError("no rows: give a header line and at least one row")
    return frame


def entity_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Join key columns as the API takes them (area_id integers, the others strings)."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name].tolist()
        if any(_missing(v) for v in values):
            raise InputError(f"column {name} has empty cells")
        if name == TIMESTAMP:
            columns[name] = [_timestamp(v) for v in values]
        elif name in INTEGER_KEYS and all(_integral(v) for v in values):
            columns[name] = [int(v) for v in values]
        else:  # other types go as they are; the API's 422 says what it expects
            columns[name] = [v if name in INTEGER_KEYS else str(v) for v in values]
    return columns


def historical_entity_data(frame: pd.DataFrame) -> dict[str, list[Any]]:
    if TIMESTAMP not in frame.columns:
        raise InputError(f"the rows need an {TIMESTAMP} column (ISO 8601, e.g. 2016-06-01T12:00)")
    return entity_columns(frame)


def online_table(answer: OnlineFeaturesResponse) -> pd.DataFrame:
    """One row per entity and feature: its keys, value, status, event time and age."""
    rows = [
        {
            "entity": ", ".join(f"{k}={v}" for k, v in result.entity.items()),
            "feature": ref,
            "value": display(cell.value),
            "status": cell.status,
            "age": age_text(cell.age_seconds),
            "event_timestamp": cell.event_timestamp,
        }
        for result in answer.results
        for ref, cell in result.features.items()
    ]
    return pd.DataFrame(rows, columns=["entity", "feature", "value", "status", "age", TIMESTAMP])


def wide_values(answer: OnlineFeaturesResponse) -> pd.DataFrame:
    """Entities as rows, features as columns (values only; missing values are empty)."""
    return pd.DataFrame(
        [
            {**result.entity, **{ref: cell.value for ref, cell in result.features.items()}}
            for result in answer.results
        ]
    )


def prediction_features(prediction: Prediction) -> pd.DataFrame:
    """Every feature the prediction used with its source (request, feast, derived, missing)."""
    rows = [
        {
            "feature": name,
            "value": display(used.value),
            "source": used.source,
            "status": used.status or "",
            "age": age_text(used.age_seconds),
        }
        for name, used in prediction.features.items()
    ]
    return pd.DataFrame(rows, columns=["feature", "value", "source", "status", "age"])


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def age_text(seconds: float | None) -> str:
    """An age as people read it: 45 s, 12 min, 5.2 h, 3.1 d, 2.4 y."""
    if seconds is None:
        return ""
    for unit, size, from_ in (("y", 365 * 86400, 730 * 86400), ("d", 86400, 2 * 86400),
                              ("h", 3600, 2 * 3600), ("min", 60, 120)):  # fmt: skip
        if abs(seconds) >= from_:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def display(value: Any) -> str:
    """Cell values of mixed types as text (a table column needs one type)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _integral(value: Any) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError):
        return False


def _timestamp(value: Any) -> str | float:
    """Timestamps as ISO text (naive = UTC, as the API reads them); epoch numbers as they are."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return str(value).strip()
