"""Where health reports are stored, and reading the newest one without computing anything.

One JSON file per run, ``<UTC timestamp>.json``, and ``latest.json``, each written atomically
(readers get a whole report or the previous one); the newest TAXI_MONITORING_REPORTS_KEPT
run files are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.monitoring.models import HealthReport
from taxi_platform.settings import Settings

LATEST = "latest.json"


def report_dir(settings: Settings) -> Path:
    return settings.monitoring_dir / "reports"


def latest_report(settings: Settings) -> dict[str, Any] | None:
    """The newest stored report as JSON data, or None before the first health run."""
    path = report_dir(settings) / LATEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def load_latest(settings: Settings) -> HealthReport | None:
    """The newest report, parsed (the API's answers are built from it)."""
    data = latest_report(settings)
    return HealthReport.model_validate(data) if data is not None else None


def write_report(settings: Settings, report: HealthReport) -> Path:
    """Store ``report`` as its run's file and as ``latest.json``; drop the oldest run files."""
    folder = report_dir(settings)
    text = report.model_dump_json(indent=1)
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{stamp}.json"
    for target in (path, folder / LATEST):
        replace_file_atomically(target, lambda tmp: tmp.write_text(text))
    runs = sorted(p for p in folder.glob("*.json") if p.name != LATEST)
    for old in runs[: max(len(runs) - settings.monitoring_reports_kept, 0)]:
        old.unlink(missing_ok=True)
    return path
