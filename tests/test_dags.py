"""The Airflow DAGs: they import, have the expected shape, and run end to end (dag.test())."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taxi_platform.data.generator import FEED_SOURCE
from taxi_platform.duck import connect, read_trips
from taxi_platform.jobs.feature_job import apply_step, features_step, ingest_step
from taxi_platform.orchestration.training import pipeline_arguments
from taxi_platform.settings import load_settings
from taxi_platform.store.repo import open_store
from tests.airflow_support import configure_airflow, load_dags, run_dag, task_states
from tests.conftest import PROFILES
from tests.test_store import BATCH_VIEWS, latest_offline_rows, same

EXPECTED = {
    "taxi_feature_pipeline": (
        {"load_trips", "compute_features", "feast_apply", "materialize", "verify"},
        None,
    ),
    "taxi_materialize_incremental": ({"wait_for_feed", "materialize_window"}, "0 * * * *"),
    "taxi_synthetic_feed": ({"generate_trips", "compute_features"}, "0 * * * *"),
    "taxi_training_pipeline": (
        {"build_training_set", "run_tfx_pipeline", "publish_model", "save_baseline"},
        "0 0 * * 0",
    ),
    "taxi_feature_health": ({"check_feature_health", "backup_registry"}, "0 * * * *"),
}


@pytest.fixture(scope="module", autouse=True)
def airflow_db(tmp_path_factory):
    configure_airflow(tmp_path_factory.mktemp("airflow"))


def test_dags_import_with_expected_shape():
    dags = load_dags()
    assert set(dags) == set(EXPECTED)
    for dag_id, (tasks, cron) in EXPECTED.items():
        dag = dags[dag_id]
        assert {t.task_id for t in dag.tasks} == tasks
        assert getattr(dag.timetable, "_expression", None) == cron or (
            cron and cron in repr(dag.timetable)
        )
        assert dag.catchup is False
        for task in dag.tasks:
            if task.task_id != "wait_for_feed":
                assert task.retries == 2 and task.execution_timeout == timedelta(minutes=30)


def assert_online_matches_offline(settings) -> None:
    store = open_store(settings)
    for view_name in BATCH_VIEWS:
        view = store.get_feature_view(view_name)
        expected = latest_offline_rows(settings, view, n=50)
        rows = [dict(zip(view.join_keys, key, strict=True)) for key in expected]
        features = [f"{view.name}:{f.name}" for f in view.features]
        online = store.get_online_features(features=features, entity_rows=rows).to_dict()
        for i, key in enumerate(expected):
            for f in view.features:
                assert same(online[f.name][i], expected[key][f.name]), (view_name, key, f.name)


@pytest.mark.parametrize("profile", PROFILES)
def test_feature_dag_end_to_end(platform_env, profile):
    settings = platform_env(profile)
    run = run_dag("taxi_feature_pipeline")
    assert run.state == "success", task_states(run)
    assert_online_matches_offline(settings)


def trips_started_in(settings, start: datetime, end: datetime) -> list[str]:
    con = connect()
    read_trips(con, settings.trips_dir)
    rows = con.execute(
        "SELECT trip_id FROM trips "
        "WHERE trip_start_timestamp >= ? AND trip_start_timestamp < ? ORDER BY trip_id",
        [start, end],
    )
    return [r[0] for r in rows.fetchall()]


def online_fares(settings, trip_ids: list[str]) -> list:
    result = open_store(settings).get_online_features(
        features=["trip_features:fare"], entity_rows=[{"trip_id": t} for t in trip_ids]
    )
    return result.to_dict()["fare"]


@pytest.mark.parametrize("profile", PROFILES)
def test_feed_then_materialize_moves_exactly_each_interval(platform_env, profile):
    """Feed three past hours; materialize (as a backfill) only the first and the third."""
    settings = platform_env(profile, TAXI_FEED_TRIPS_PER_INTERVAL="300")
    ingest_step(settings)
    features_step(settings)
    apply_step(settings)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    intervals = [(hour + timedelta(hours=i), hour + timedelta(hours=i + 1)) for i in range(3)]
    # dag.test() runs the interval that ends at the date it is given, as the scheduler does
    for _, end in intervals:
        feed = run_dag("taxi_synthetic_feed", logical_date=end)
        assert feed.state == "success", task_states(feed)
    for _, end in (intervals[0], intervals[2]):
        run = run_dag("taxi_materialize_incremental", logical_date=end)
        assert run.state == "success", task_states(run)

    fed = [trips_started_in(settings, s, e) for s, e in intervals]
    assert [len(trips) for trips in fed] == [300, 300, 300]
    assert all(f is not None for f in online_fares(settings, fed[0] + fed[2]))
    # windows are closed, [start, end], as Feast's materialize reads them: a trip starting on
    # the skipped window's first minute also belongs to the window before it
    skipped = trips_started_in(settings, intervals[1][0] + timedelta(seconds=1), intervals[1][1])
    assert len(skipped) > 250
    assert online_fares(settings, skipped) == [None] * len(skipped)
    feed_files = list((settings.trips_dir / FEED_SOURCE).glob("month=*/*.parquet"))
    assert len(feed_files) == 3

    again = run_dag("taxi_synthetic_feed", logical_date=intervals[0][1])  # idempotent rerun
    assert again.state == "success"
    assert trips_started_in(settings, *intervals[0]) == fed[0]


def test_training_dag_skips_until_the_feature_pipeline_ran(platform_env):
    platform_env("sqlite")
    run = run_dag("taxi_training_pipeline")
    assert run.state == "success"
    assert {task: state for task, (state, _) in task_states(run).items()} == {
        "build_training_set": "skipped", "run_tfx_pipeline": "skipped", "publish_model": "skipped",
        "save_baseline": "skipped",
    }  # fmt: skip


def test_training_pushes_online_only_with_an_api_key(home):
    with_key = pipeline_arguments(load_settings(home=home, api_keys=" ,k1,k2", api_port=8123))
    assert with_key[-2:] == ["--api-url", "http://127.0.0.1:8123"]
    assert "--no-push-online" not in with_key
    without = pipeline_arguments(load_settings(home=home, api_keys=""))
    assert without[-1] == "--no-push-online" and "--api-url" not in without
    assert without[without.index("--feast-repo-path") + 1] == str(home / "feature_repo")


def test_training_passes_beam_settings_as_flags(home):
    default = pipeline_arguments(load_settings(home=home))
    assert default[default.index("--beam-workers") + 1] == "0"
    assert not [arg for arg in default if arg.startswith("--beam-arg")]
    flink = "--runner=FlinkRunner --flink_master=flink:8081 --flink_conf_dir='/etc/my flink'"
    args = pipeline_arguments(load_settings(home=home, beam_workers=3, beam_args=flink))
    assert args[args.index("--beam-workers") + 1] == "3"
    assert [arg for arg in args if arg.startswith("--beam-arg")] == [
        "--beam-arg=--runner=FlinkRunner", "--beam-arg=--flink_master=flink:8081",
        "--beam-arg=--flink_conf_dir=/etc/my flink",
    ]  # fmt: skip
