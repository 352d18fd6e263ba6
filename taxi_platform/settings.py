"""The platform's configuration in one place.

Every value comes from an environment variable prefixed ``TAXI_`` (for example
``TAXI_PROFILE=redis``) or from a ``.env`` file in the project root; the README lists them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from taxi_platform.errors import PlatformError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Profile = Literal["sqlite", "redis"]
PROFILE_YAML: dict[str, str] = {
    "sqlite": "feature_store.yaml",
    "redis": "feature_store.redis.yaml",
}


class Settings(BaseSettings):
    """Platform settings; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="TAXI_", env_file=PROJECT_ROOT / ".env", extra="ignore", frozen=True
    )

    home: Path = PROJECT_ROOT
    profile: Profile = "sqlite"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_type: Literal["redis", "redis_cluster"] = "redis"
    online_apply_ttl: bool = True  # online cells older than their view's ttl: OUTSIDE_MAX_AGE
    tfx_version: str = "1.16.0"
    generator_seed: int = 42
    max_bad_row_fraction: float = 0.5

    # Feature API (api/)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_keys: str = ""
    api_read_auth: bool = False
    api_max_entities: int = 1000
    api_store_timeout_seconds: float = 1.0  # one deadline per request, across all its reads
    api_store_threads: int = 16  # online store reads run here, never on the event loop
    api_store_queue: int = 64  # reads waiting for a thread; beyond this 503 at once
    api_health_timeout_seconds: float = 1.0
    api_max_body_bytes: int = 4 * 1024 * 1024
    api_max_batch_trips: int = 1000
    api_max_historical_rows: int = 100_000  # parquet/arrow answers; JSON keeps max_entities
    api_expose_internals: bool = False  # registry path, Redis host:port without a key

    # Models: the TFX Pusher writes versioned SavedModels here; the API serves the newest
    serving_model_dir: Path | None = None

    # Airflow (embedded: `airflow standalone` under var/airflow; see the README for production)
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 8080
    materialize_schedule: str = "@hourly"
    feed_enabled: bool = True
    feed_schedule: str = "@hourly"
    feed_trips_per_interval: int = 2000
    training_schedule: str = "@weekly"
    training_steps: int = 2000
    training_max_trips: int = 0  # 0: every stored trip; else the earliest N (quick runs, tests)
    training_eval_steps: int = 100
    task_retries: int = 2
    task_retry_delay_seconds: float = 30.0
    task_timeout_minutes: float = 30.0

    # Feature health (taxi_platform/monitoring; README "Feature health"). Per-feature keys are
    # "view:feature", per-view keys the view's name; JSON objects in the environment.
    health_schedule: str = "@hourly"
    monitoring_window_hours: float = 24.0  # the recent window profiled and checked
    monitoring_baseline_days: float = 7.0  # without a model baseline: the window before it
    monitoring_bins: int = 10
    monitoring_psi_threshold: float = 0.2
    monitoring_js_threshold: float = 0.1
    monitoring_drift_thresholds: dict[str, float] = {}
    monitoring_null_rate_max: float = 0.5
    monitoring_null_rate_thresholds: dict[str, float] = {}
    monitoring_freshness_slo_seconds: float = 7200.0
    monitoring_freshness_slos: dict[str, float] = {
        "company_features": 2 * 86400.0,  # daily aggregates, valid from the day's end
        "transformed_features": 8 * 86400.0,  # written by the weekly training run
    }
    monitoring_reports_kept: int = 168
    registry_backups_kept: int = 7
    alert_webhook_url: str = ""
    alert_webhook_timeout_seconds: float = 5.0

    @cached_property
    def feature_repo(self) -> Path:
        return self.home / "feature_repo"

    @cached_property
    def data_dir(self) -> Path:
        """Runtime state of the Feast repository: registries, online SQLite, offline Parquet."""
        return self.feature_repo / "data"

    @cached_property
    def offline_dir(self) -> Path:
        return self.data_dir / "offline_store"

    @cached_property
    def trips_dir(self) -> Path:
        return self.offline_dir / "trips"

    @cached_property
    def var_dir(self) -> Path:
        """Downloads, logs and pid files; outside git."""
        return self.home / "var"

    @cached_property
    def airflow_home(self) -> Path:
        """AIRFLOW_HOME of the embedded Airflow: inside the project, outside git."""
        return self.var_dir / "airflow"

    @cached_property
    def monitoring_dir(self) -> Path:
        """Health reports, registry backups and task events (taxi_platform/monitoring)."""
        return self.var_dir / "monitoring"

    @cached_property
    def api_key_list(self) -> list[str]:
        """TAXI_API_KEYS is comma-separated; write endpoints accept any of these keys."""
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    @cached_property
    def model_dir(self) -> Path:
        """Where blessed models are pushed (one numbered subdirectory per version)."""
        return self.serving_model_dir or self.var_dir / "serving_model"

    @cached_property
    def pipeline_python(self) -> Path:
        """Interpreter of the Python 3.10 TFX environment, for ExternalPythonOperator tasks.

        It lives with the code (scripts/setup.sh makes it), not with the data under TAXI_HOME.
        """
        return PROJECT_ROOT / "tfx_pipeline" / ".venv" / "bin" / "python"

    @cached_property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @cached_property
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @cached_property
    def redis_connection_string(self) -> str:
        return f"{self.redis_host}:{self.redis_port}"

    @cached_property
    def feature_store_yaml(self) -> Path:
        return self.feature_repo / PROFILE_YAML[self.profile]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with overrides; invalid values raise a one-line error."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "TAXI_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise PlatformError(f"invalid {field}={err.get('input')!r}: {err['msg']}") from None
