"""``taxi-platform``: the command line for the parts of the platform that are not Airflow DAGs.

Every command takes ``--help``. Errors the user can fix print one line and exit with status 1.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from taxi_platform.errors import PlatformError
from taxi_platform.orchestration.cli import airflow_group
from taxi_platform.settings import Settings, load_settings
from taxi_platform.stream.cli import stream_group

console = Console(stderr=False)


class PlatformGroup(click.Group):
    """The root group: a PlatformError from any command below it becomes one line and exit 1.

    Caught here once, so no command needs its own handler and a new one cannot forget it.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlatformError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


def _settings() -> Settings:
    return click.get_current_context().find_root().obj


def _readable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Online lookups as JSON: float32 values as their shortest decimal (1.4, not
    1.399999976), event times in ISO 8601, ages in whole seconds."""
    import numpy as np

    def cell(c: dict[str, Any]) -> dict[str, Any]:
        value, ts, age = c["value"], c["event_timestamp"], c["age_seconds"]
        return c | {
            "value": float(str(np.float32(value))) if isinstance(value, float) else value,
            "event_timestamp": ts.isoformat() if ts else None,
            "age_seconds": round(age) if age is not None else None,
        }

    return [
        row | {"features": {name: cell(c) for name, c in row["features"].items()}} for row in rows
    ]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


@click.group(cls=PlatformGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--profile",
    envvar="TAXI_PROFILE",
    default="sqlite",
    show_default=True,
    help="Feature store profile: sqlite (embedded), redis, or spark (Spark offline store and "
    "engine, Redis online).",
)
@click.pass_context
def cli(ctx: click.Context, profile: str) -> None:
    """Chicago Taxi feature platform on Feast: data, features, store."""
    ctx.obj = load_settings(profile=profile)


@cli.command("fetch-sample")
def fetch_sample_cmd() -> None:
    """Download the real Chicago Taxi sample (tfx 1.16.0 wheel) into var/raw."""
    from taxi_platform.data.sample import fetch_sample

    console.print(f"sample: {fetch_sample(_settings())}")


@cli.command("ingest-sample")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="CSV to ingest "
              "(default: the downloaded sample).")  # fmt: skip
def ingest_sample_cmd(csv_path: Path | None) -> None:
    """Clean the sample CSV and store it as month-partitioned Parquet in the offline store."""
    from taxi_platform.data.ingest import ingest_sample_csv
    from taxi_platform.data.sample import fetch_sample

    settings = _settings()
    report = ingest_sample_csv(settings, csv_path or fetch_sample(settings))
    table = Table("rule", "rows", title="Ingestion of the Chicago Taxi sample")
    table.add_row("read", str(report.rows_read))
    for rule, count in report.dropped.items():
        table.add_row(f"dropped: {rule}", str(count))
    for column, count in report.kept_blanks.items():
        table.add_row(f"kept, blank {column}", str(count))
    table.add_row("stored", f"{report.rows_kept} trips in {report.months} months", style="bold")
    console.print(table)


@cli.command("generate")
@click.option("--trips", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--start", type=click.DateTime(), help="Start of the timeline (UTC).")
@click.option("--end", type=click.DateTime(), help="End of the timeline (UTC, exclusive).")
@click.option("--continue-hours", type=click.FloatRange(min_open=True, min=0),
              help="Instead of --start/--end: continue after the newest stored trip "
              "for this many hours.")  # fmt: skip
@click.option("--seed", type=int, help="Random seed (default TAXI_GENERATOR_SEED).")
def generate_cmd(
    trips: int,
    start: datetime | None,
    end: datetime | None,
    continue_hours: float | None,
    seed: int | None,
) -> None:
    """Generate realistic synthetic trips, learned from the real sample, into the offline store."""
    from taxi_platform.data.generator import continue_trips, write_trips

    settings = _settings()
    seed = settings.generator_seed if seed is None else seed
    if continue_hours is not None:
        report = continue_trips(settings, trips, continue_hours, seed)
    elif start and end:
        report = write_trips(settings, trips, _utc(start), _utc(end), seed)
    else:
        raise PlatformError("give --start and --end, or --continue-hours")
    console.print(
        f"generated {report.trips:,} trips {report.start} .. {report.end} in "
        f"{len(report.files)} files, {report.rows_per_second:,.0f} trips/s"
    )


@cli.command("features")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]),
              help="What runs the SQL (default TAXI_FEATURE_ENGINE, duckdb); spark: "
              "TAXI_SPARK_MASTER, local[2] unless set.")  # fmt: skip
def features_cmd(engine: str | None) -> None:
    """Compute the trip, area and company feature tables from the stored trips."""
    from taxi_platform.features.compute import compute_features

    table = Table("table", "rows", "from", "to", "seconds", title="Batch features")
    for r in compute_features(_settings(), engine):
        table.add_row(r.name, f"{r.rows:,}", str(r.start), str(r.end), f"{r.seconds:.2f}")
    console.print(table)


@cli.command("apply")
def apply_cmd() -> None:
    """Register the Feast definitions of feature_repo/ (like `feast apply`)."""
    from taxi_platform.store.repo import apply_repo

    apply_repo(_settings())


@cli.command("materialize")
@click.option("--incremental", is_flag=True, help="From the last materialized time to --end.")
@click.option("--start", type=click.DateTime(), help="Window start (UTC); default: all history.")
@click.option("--end", type=click.DateTime(), help="Window end (UTC); default: now.")
@click.option("--view", "views", multiple=True, help="Feature view (repeatable); default all.")
@click.option(
    "--writer",
    type=click.Choice(["feast", "vectorized"]),
    help="Feast's local engine or the vectorized Redis writer; default TAXI_MATERIALIZE_WRITER.",
)
def materialize_cmd(
    incremental: bool,
    start: datetime | None,
    end: datetime | None,
    views: tuple[str, ...],
    writer: str | None,
) -> None:
    """Load feature values from the offline store into the online store."""
    from taxi_platform.store.materialize import (
        materialize_all,
        materialize_incremental,
        materialize_range,
    )

    settings, view_list = _settings(), list(views) or None
    if writer:
        settings = settings.model_copy(update={"materialize_writer": writer})
    if incremental:
        report = materialize_incremental(settings, _utc(end), view_list)
    elif start:
        report = materialize_range(settings, _utc(start), _utc(end) or datetime.now(UTC), view_list)
    else:
        report = materialize_all(settings, view_list)
    table = Table(
        "feature view",
        "entity rows written",
        title=f"Materialized into {settings.profile} ({settings.materialize_writer} writer)",
    )
    for view, rows in report.rows.items():
        table.add_row(view, f"{rows:,}")
    console.print(table)
    console.print(
        f"{report.features:,} feature values in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} entity rows/s)"
    )


@cli.command("lookup")
@click.argument("trip_ids", nargs=-1)
@click.option("--newest", type=click.IntRange(min=1), help="Look up the N newest stored trips.")
@click.option("--service", default="model_inference_v1", show_default=True)
def lookup_cmd(trip_ids: tuple[str, ...], newest: int | None, service: str) -> None:
    """Read a feature service online for trip ids (their area and company are resolved).

    Each feature shows its value, status (OUTSIDE_MAX_AGE past its view's ttl, see
    TAXI_ONLINE_APPLY_TTL) and age; an unknown trip reads NOT_FOUND under area 0 and company "".
    """
    from taxi_platform.jobs.feature_job import lookup_step, newest_trip_ids
    from taxi_platform.store.repo import check_online_store

    settings = _settings()
    ids = list(trip_ids) + (newest_trip_ids(settings, newest) if newest else [])
    if not ids:
        raise PlatformError("give trip ids or --newest N")
    check_online_store(settings)
    console.print_json(data=_readable(lookup_step(settings, ids, service)))


@cli.command("predict")
@click.argument("trip_ids", nargs=-1)
@click.option("--newest", type=click.IntRange(min=1), help="Predict the N newest stored trips.")
def predict_cmd(trip_ids: tuple[str, ...], newest: int | None) -> None:
    """Ask the prediction API about stored trips (Feast features), next to their real tips."""
    from taxi_platform.jobs.feature_job import newest_trip_ids
    from taxi_platform.prediction_client import predict_trips, stored_trips

    settings = _settings()
    ids = list(trip_ids) + (newest_trip_ids(settings, newest) if newest else [])
    if not ids:
        raise PlatformError("give trip ids or --newest N")
    rows = stored_trips(settings, ids)
    answer = predict_trips(settings, rows)
    table = Table(title=f"P(tip > 20% of fare), model {answer['model_version']}")
    table.add_column("trip", no_wrap=True)
    for column in ("fare", "P", "predicted", "real tip", "area fare"):
        table.add_column(column, justify="right")
    for row, prediction in zip(rows, answer["predictions"], strict=True):
        table.add_row(
            row["trip_id"], f"{row['fare']:.2f}", f"{prediction['probability']:.3f}",
            "big tipper" if prediction["big_tipper"] else "-",
            f"{row['tips'] / row['fare']:.0%}" if row.get("tips") is not None else "?",
            _area_fare(prediction["features"].get("avg_fare", {})),
        )  # fmt: skip
    console.print(table)


def _area_fare(used: dict[str, Any]) -> str:
    """The area's average fare as the prediction used it; an expired value is shown, not used."""
    value = used.get("value")
    if value is None:
        return "missing"
    return f"{value:.2f}" if used["source"] != "missing" else f"{value:.2f} ({used['status']})"


@cli.command("training-set")
@click.option(
    "--out", type=click.Path(path_type=Path), help="CSV path (default var/training/data.csv)."
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N trips (for tests).")
def training_set_cmd(out: Path | None, limit: int | None) -> None:
    """Build the TFX pipeline's point-in-time training set from Feast (service training_v1)."""
    from taxi_platform.jobs.training_set import build_training_set

    settings = _settings()
    target = out or settings.var_dir / "training" / "data.csv"
    result = build_training_set(settings, target, limit)
    console.print(
        f"training set: {result.rows:,} rows, {len(result.columns)} columns -> {result.path}"
    )


@cli.command("run")
def run_cmd() -> None:
    """The main job end to end: sample, features, apply, materialize, a sample lookup."""
    from taxi_platform.jobs.feature_job import run_feature_job

    settings = _settings()
    summary = run_feature_job(settings)
    materialized = summary["materialize"]
    console.rule("Summary")
    console.print(
        f"trips ingested: {summary['ingest']['trips_stored']:,} of "
        f"{summary['ingest']['trips_read']:,} read (dropped: {summary['ingest']['dropped']})"
    )
    for name, table in summary["features"].items():
        console.print(f"feature table {name}: {table['rows']:,} rows")
    console.print(
        f"materialized into {settings.profile}: {materialized['rows']} "
        f"= {materialized['feature_values']:,} feature values in {materialized['seconds']} s"
    )
    console.print("sample online lookup (model_inference_v1):")
    console.print_json(data=_readable(summary["lookup"]))


@cli.command("ui")
@click.option("--port", type=int, help="Port (default TAXI_UI_PORT, 8501).")
def ui_cmd(port: int | None) -> None:
    """The Streamlit dashboard (ui/streamlit_app.py) on the feature API; Ctrl-C stops it."""
    from taxi_platform.dashboard import run_dashboard

    run_dashboard(_settings(), port)


@cli.group("registry")
def registry_group() -> None:
    """Back the Feast registry up, or restore a backup (checked before the live one changes)."""


@registry_group.command("backup")
def registry_backup_cmd() -> None:
    """Copy the profile's registry and its sha256 under var/registry_backups."""
    from taxi_platform.store.registry_backup import backup

    made = backup(_settings())
    console.print(f"backed up {made.feature_views} feature views of {made.project}: {made.path}")


@registry_group.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
def registry_restore_cmd(file: Path) -> None:
    """Replace the live registry with FILE if its sha256 and project check out."""
    from taxi_platform.store.registry_backup import restore

    done = restore(_settings(), file)
    console.print(f"restored {done.feature_views} feature views of {done.project} from {file}")


# `taxi-platform airflow ...`: the embedded Airflow (taxi_platform/orchestration/cli.py)
cli.add_command(airflow_group)
# `taxi-platform stream ...`: real-time area features from Kafka (taxi_platform/stream)
cli.add_command(stream_group)


def main() -> None:
    # Feast's dependencies (ibis, dask) warn about their own deprecations on every call
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    cli(obj=None)


if __name__ == "__main__":
    main()
