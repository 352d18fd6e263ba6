"""The last run of the tasks that feed the online store, recorded by Airflow callbacks.

Airflow 3 tasks cannot read Airflow's metadata database, so the materialization tasks record
their own outcome (success and failure callbacks) in ``<monitoring dir>/task_events.json``;
the health job reads the newest one as each view's "last materialization".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.monitoring.models import MaterializationRun
from taxi_platform.settings import Settings

EVENTS_FILE = "task_events.json"


def _read(settings: Settings) -> dict[str, dict[str, Any]]:
    try:
        return json.loads((settings.monitoring_dir / EVENTS_FILE).read_text())
    except FileNotFoundError:
        return {}


def record(settings: Settings, dag_id: str, task_id: str, run_id: str, state: str) -> None:
    """Remember the outcome of ``dag_id.task_id``'s run ``run_id`` (the newest replaces it)."""
    events = _read(settings)
    events[f"{dag_id}.{task_id}"] = {
        "dag_id": dag_id,
        "run_id": run_id,
        "state": state,
        "end_date": datetime.now(UTC).isoformat(),
    }
    text = json.dumps(events, indent=1, sort_keys=True)
    replace_file_atomically(settings.monitoring_dir / EVENTS_FILE, lambda tmp: tmp.write_text(text))


def last_materialization(settings: Settings, tasks: tuple[str, ...]) -> MaterializationRun | None:
    """The newest recorded run among ``tasks`` ("dag_id.task_id")."""
    events = [
        MaterializationRun.model_validate(e) for k, e in _read(settings).items() if k in tasks
    ]
    return max(events, key=lambda e: e.end_date or datetime.min.replace(tzinfo=UTC), default=None)
