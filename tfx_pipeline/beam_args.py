"""The pipeline's Beam arguments: DirectRunner in worker processes, or another runner's flags.

The platform passes its settings as flags (TAXI_BEAM_WORKERS -> ``--beam-workers``, each word of
TAXI_BEAM_ARGS -> ``--beam-arg``), so this environment never reads the platform's settings.
Arguments naming another runner replace the DirectRunner's flags, which that runner would ignore:
  Flink:    --runner=FlinkRunner --flink_master=HOST:8081 --environment_type=LOOPBACK
  Spark:    --runner=SparkRunner --spark_master_url=spark://HOST:7077
            (or --runner=PortableRunner --job_endpoint=HOST:8099 of a Spark job server)
  Dataflow: --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp
            (pipeline root and data on gs:// too)
"""

from __future__ import annotations

DIRECT_RUNNERS = {"DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner"}


def runner_of(extra: list[str]) -> str:
    """The runner named by ``--runner=X`` or ``--runner X`` (the last wins, as in Beam)."""
    runner = "DirectRunner"
    for i, arg in enumerate(extra):
        if arg.startswith("--runner="):
            runner = arg.split("=", 1)[1]
        elif arg == "--runner" and i + 1 < len(extra):
            runner = extra[i + 1]
    return runner.rsplit(".", 1)[-1]


def beam_pipeline_args(workers: int = 0, extra: list[str] | None = None) -> list[str]:
    """DirectRunner in ``workers`` processes (0: one per core, Beam's rule) plus ``extra``.

    With ``--runner`` of another runner in ``extra``, only ``extra``: the cluster decides the
    parallelism there.
    """
    if workers < 0:
        raise ValueError(f"Beam workers must be >= 0 (0: one per core), not {workers}")
    extra = list(extra or [])
    if runner_of(extra) not in DIRECT_RUNNERS:
        return extra
    direct = ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    return [*direct, *extra]
