"""The platform's configuration in one place.

Every value comes from an environment variable prefixed ``TAXI_`` (for example
``TAXI_PROFILE=redis``) or from a ``.env`` file in the project root; the README lists them.
"""

from __future__ import annotations

import shlex
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from taxi_platform.errors import PlatformError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Profile = Literal["sqlite", "redis", "spark"]
PROFILE_YAML: dict[str, str] = {
    "sqlite": "feature_store.yaml",
    "redis": "feature_store.redis.yaml",
    "spark": "feature_store.spark.yaml",  # Spark offline store + engine, Redis online
}
SPARK_YAML = PROFILE_YAML["spark"]


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
    # Redis Cluster: Feast's connection string "host:port,host:port,..." (empty: redis_host:port)
    redis_cluster_nodes: str = ""
    # Materialization into Redis: Feast's local engine, or the vectorized writer (same bytes)
    materialize_writer: Literal["feast", "vectorized"] = "feast"
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

    # Streamlit dashboard (ui/): it talks only to the feature API and Airflow's REST API
    ui_port: int = 8501
    ui_api_url: str = ""  # empty: http://TAXI_API_HOST:TAXI_API_PORT
    ui_api_key: str = ""  # sent as X-API-Key (needed with TAXI_API_READ_AUTH=true)
    ui_airflow_url: str = ""  # empty: http://TAXI_AIRFLOW_HOST:TAXI_AIRFLOW_PORT
    ui_airflow_user: str = "admin"
    ui_airflow_password: str = ""  # empty: read from ui_airflow_password_file
    ui_airflow_password_file: Path | None = None  # SimpleAuthManager's; default the embedded one
    ui_timeout_seconds: float = 10.0  # per call to the API or Airflow
    ui_refresh_seconds: float = 10.0  # the real-time page's auto refresh

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

    # Scale-out (README "Scale-out: Celery and Beam"). Celery: Airflow's CeleryExecutor, used
    # when AIRFLOW__CORE__EXECUTOR=CeleryExecutor; every Airflow process gets these values.
    celery_broker_url: str = "redis://127.0.0.1:6379/1"  # db 1: the online store keeps db 0
    celery_result_backend: str = ""  # empty: Airflow's metadata database (db+ its URL)
    celery_worker_concurrency: int = 4  # task slots per worker; tasks are memory-heavy
    # Beam: the TFX pipeline's runner (the training DAG passes these as flags)
    beam_workers: int = 0  # DirectRunner worker processes; 0: one per core
    beam_args: str = ""  # more Beam flags as shell words, e.g. "--runner=FlinkRunner ..."

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

    # Real-time area features from Kafka (taxi_platform/stream; README "Real-time features").
    # Any Kafka cluster: bootstrap servers plus librdkafka security settings.
    stream_bootstrap_servers: str = "127.0.0.1:9092"
    stream_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    stream_sasl_mechanism: str = ""  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 with SASL_*
    stream_sasl_username: str = ""
    stream_sasl_password: str = ""
    stream_ssl_ca_location: str = ""
    stream_events_topic: str = "taxi.area-events"
    stream_dead_letter_topic: str = "taxi.area-events.dead-letter"
    stream_partitions: int = 4
    stream_group: str = "taxi-area-features"
    stream_window_minutes: float = 15.0
    stream_lateness_seconds: float = 120.0  # late events within this update their window
    stream_commit_interval_seconds: float = 0.25  # push + commit cadence (freshness bound)
    stream_backoff_max_seconds: float = 30.0  # online store down: retry, doubling up to this
    stream_health_host: str = "127.0.0.1"
    stream_health_port: int = 8095  # /health and /metrics of `taxi-platform stream process`
    stream_weather_seed: int = 7
    stream_weather_every_seconds: float = 60.0  # producer: one weather event per area this often
    stream_broker_port: int = 9092  # the local Tansu broker of scripts/services.sh
    stream_state_dir: Path | None = None  # RocksDB window state; default var/stream/state
    stream_session_timeout_seconds: float = 6.0  # a dead processor's partitions move after this

    # Spark (README "Spark profile"): the spark profile's offline store and materialization
    # engine, and `features --engine spark`. A cluster is a master URL (spark://host:7077).
    feature_engine: Literal["duckdb", "spark"] = "duckdb"  # what computes the batch features
    spark_master: str = "local[2]"
    spark_driver_memory: str = "1g"
    spark_shuffle_partitions: int = 4  # small data per partition on 2 cores; raise on a cluster

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
    def beam_arg_list(self) -> list[str]:
        """TAXI_BEAM_ARGS split as a shell would ("--a=1 --b='x y'" -> two flags)."""
        return shlex.split(self.beam_args)

    @cached_property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @cached_property
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @cached_property
    def ui_api_base(self) -> str:
        """The feature API the dashboard calls (TAXI_UI_API_URL, else this API's own address)."""
        return (self.ui_api_url or self.api_url).rstrip("/")

    @cached_property
    def ui_airflow_base(self) -> str:
        """The Airflow REST API the dashboard calls (TAXI_UI_AIRFLOW_URL, else the embedded one)."""
        return (self.ui_airflow_url or self.airflow_url).rstrip("/")

    @cached_property
    def redis_connection_string(self) -> str:
        if self.redis_type == "redis_cluster" and self.redis_cluster_nodes:
            return self.redis_cluster_nodes
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
