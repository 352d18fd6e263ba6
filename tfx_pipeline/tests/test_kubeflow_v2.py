"""The same pipeline compiles for Kubeflow Pipelines v2 (pipeline.json), with its dependencies."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import unittest
from pathlib import Path

import fixtures  # noqa: F401 (puts the repository on sys.path)

from tfx_pipeline.kubeflow_v2 import compile_pipeline
from tfx_pipeline.pipeline import DEFAULT_BEAM_ARGS

HAS_KFP_SPEC = importlib.util.find_spec("kfp") is not None and (
    importlib.util.find_spec("kfp.pipeline_spec") is not None
)


@unittest.skipUnless(HAS_KFP_SPEC, "needs kfp-pipeline-spec==0.2.2 (tfx[kfp]) in the environment")
class KubeflowV2CompileTest(unittest.TestCase):
    def test_compiles_with_the_expected_graph(self) -> None:
        out = Path(tempfile.mkdtemp(prefix="kfp_v2_test_"))
        self.addCleanup(shutil.rmtree, out, True)
        spec = json.loads(compile_pipeline(str(out)).read_text())
        tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
        expected = {
            "CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate",
            "Transform", "FeastPusher", "Trainer", "Evaluator", "Pusher",
        }  # fmt: skip
        self.assertLessEqual(expected, set(tasks))
        self.assertIn("AnomalyGate", tasks["Transform"]["dependentTasks"])
        self.assertIn("FeastPusher", tasks["Trainer"]["dependentTasks"])
        self.assertIn("Transform", tasks["FeastPusher"]["dependentTasks"])
        executors = json.dumps(spec["pipelineSpec"]["deploymentSpec"])
        self.assertIn("tfx_pipeline.components.feast_pusher.executor.Executor", executors)
        transform = spec["pipelineSpec"]["deploymentSpec"]["executors"]["Transform_executor"]
        self.assertLessEqual(set(DEFAULT_BEAM_ARGS), set(transform["container"]["args"]))

    def test_beam_args_of_another_runner_reach_every_beam_component(self) -> None:
        out = Path(tempfile.mkdtemp(prefix="kfp_v2_test_"))
        self.addCleanup(shutil.rmtree, out, True)
        dataflow = ["--runner=DataflowRunner", "--project=p", "--region=europe-west1"]
        spec = json.loads(compile_pipeline(str(out), beam_args=dataflow).read_text())
        executors = spec["pipelineSpec"]["deploymentSpec"]["executors"]
        for name in ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"):
            args = executors[f"{name}_executor"]["container"]["args"]
            self.assertEqual(args[-3:], dataflow, name)
            self.assertNotIn("--direct_running_mode=multi_processing", args, name)


if __name__ == "__main__":
    unittest.main()
