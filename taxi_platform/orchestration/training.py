"""The training DAG's call into the pipeline environment, built from the platform's settings."""

from __future__ import annotations

from taxi_platform.settings import PROJECT_ROOT, Settings

CODE_ROOT = str(PROJECT_ROOT)  # where the pipeline environment imports tfx_pipeline from


def pipeline_arguments(settings: Settings) -> list[str]:
    """`tfx_pipeline.run_pipeline` flags (all but --data-root, known only at run time).

    Beam's settings become flags (``--beam-arg=X``: X may start with a dash) because the
    pipeline environment does not read the platform's settings.

    FeastPusher materializes through the feature API; the pipeline takes the API key from the
    environment (TAXI_API_KEYS), so it never appears in the DAG's arguments. Without a key it
    writes the offline store only.
    """
    args = [
        "--output-dir", str(settings.var_dir / "tfx"),
        "--serving-model-dir", str(settings.model_dir),
        "--feast-repo-path", str(settings.feature_repo),
        "--train-steps", str(settings.training_steps),
        "--eval-steps", str(settings.training_eval_steps),
        "--beam-workers", str(settings.beam_workers),
        *(f"--beam-arg={arg}" for arg in settings.beam_arg_list),
    ]  # fmt: skip
    if settings.api_key_list:
        return [*args, "--api-url", settings.api_url]
    return [*args, "--no-push-online"]
