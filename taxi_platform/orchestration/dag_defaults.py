"""Defaults shared by the platform's DAGs, taken from the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from taxi_platform.settings import Settings

# The real sample starts in 2013: backfills can reach any interval of its history (catch-up is
# off, so nothing runs for past intervals unless asked).
START_DATE = datetime(2013, 1, 1, tzinfo=UTC)
TAGS = ["chicago-taxi", "feast"]


def default_args(settings: Settings) -> dict[str, Any]:
    """Retries and timeouts every task gets; a task that fails its retries fails the run."""
    return {
        "owner": "mlops",
        "retries": settings.task_retries,
        "retry_delay": timedelta(seconds=settings.task_retry_delay_seconds),
        "execution_timeout": timedelta(minutes=settings.task_timeout_minutes),
    }
