"""Beam's arguments: the DirectRunner's worker processes from a setting, other runners' flags.

The last test runs a real DirectRunner pipeline with the arguments built here: its work runs in
exactly that many worker processes, none of them this one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from collections import Counter
from pathlib import Path
from unittest import mock

import fixtures  # noqa: F401 (puts the repository on sys.path)
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from beam_worker_pid import worker_pid

from tfx_pipeline.beam_args import beam_pipeline_args, runner_of
from tfx_pipeline.run_pipeline import parse_args

FLINK = ["--runner=FlinkRunner", "--flink_master=flink:8081", "--environment_type=LOOPBACK"]
SPARK = ["--runner=SparkRunner", "--spark_master_url=spark://spark:7077"]
HERE = str(Path(__file__).resolve().parent)
DATAFLOW = ["--runner=DataflowRunner", "--project=p", "--region=r", "--temp_location=gs://b/t"]


class BeamArgsTest(unittest.TestCase):
    def test_direct_runner_processes_from_the_worker_count(self) -> None:
        options = PipelineOptions(beam_pipeline_args(3)).view_as(DirectOptions)
        self.assertEqual(options.direct_running_mode, "multi_processing")
        self.assertEqual(options.direct_num_workers, 3)
        self.assertEqual(
            beam_pipeline_args(),
            ["--direct_running_mode=multi_processing", "--direct_num_workers=0"],
        )

    def test_extra_args_follow_the_direct_flags(self) -> None:
        args = beam_pipeline_args(2, ["--runner=DirectRunner", "--max_cache_memory_usage_mb=0"])
        self.assertEqual(args[2:], ["--runner=DirectRunner", "--max_cache_memory_usage_mb=0"])
        self.assertEqual(PipelineOptions(args).view_as(DirectOptions).direct_num_workers, 2)

    def test_another_runner_gets_only_its_own_flags(self) -> None:
        for extra, runner in ((FLINK, "FlinkRunner"), (SPARK, "SparkRunner"),
                              (DATAFLOW, "DataflowRunner")):  # fmt: skip
            args = beam_pipeline_args(4, extra)
            self.assertEqual(args, extra)
            self.assertEqual(PipelineOptions(args).view_as(StandardOptions).runner, runner)
        self.assertEqual(runner_of(["--runner", "PortableRunner", "--job_endpoint=j:8099"]),
                         "PortableRunner")  # fmt: skip
        self.assertEqual(runner_of(["--runner=FlinkRunner", "--runner=DirectRunner"]),
                         "DirectRunner")  # fmt: skip

    def test_negative_worker_count_is_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, "one per core"):
            beam_pipeline_args(-1)

    def test_command_line_flags(self) -> None:
        flink = ["--beam-arg=--runner=FlinkRunner", "--beam-arg=--flink_master=f:8081"]
        args = parse_args(["--data-root", "d", "--beam-workers", "2", *flink])
        self.assertEqual(args.beam_workers, 2)
        self.assertEqual(args.beam_args, ["--runner=FlinkRunner", "--flink_master=f:8081"])
        defaults = parse_args(["--data-root", "d"])
        self.assertEqual((defaults.beam_workers, defaults.beam_args), (0, []))

    def test_direct_runner_runs_in_that_many_worker_processes(self) -> None:
        import apache_beam as beam

        out = tempfile.mkdtemp(prefix="beam_workers_")
        self.addCleanup(shutil.rmtree, out, True)
        # the worker processes import worker_pid's module from here
        path = os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")]))
        with (
            mock.patch.dict(os.environ, PYTHONPATH=path),
            beam.Pipeline(options=PipelineOptions(beam_pipeline_args(2))) as pipeline,
        ):
            _ = (
                pipeline
                | beam.Create(range(200))
                | beam.Map(worker_pid)
                | beam.io.WriteToText(os.path.join(out, "pids"))
            )
        counts = Counter(
            int(pid) for path in Path(out).glob("pids*") for pid in path.read_text().split()
        )
        self.assertEqual(sum(counts.values()), 200)
        self.assertEqual(len(counts), 2, counts)
        self.assertNotIn(os.getpid(), counts)


if __name__ == "__main__":
    unittest.main()
