"""The newest blessed model of the TFX Pusher, loaded once and swapped in when a newer one lands.

The Pusher writes each blessed model to ``TAXI_SERVING_MODEL_DIR/<version>/`` (a SavedModel whose
``serving_default`` signature takes serialized raw tf.Examples and returns P(big tipper)). A
prediction looks for a newer version at most every ``RESCAN_SECONDS``, so a model pushed by the
training DAG goes live without restarting the API.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESCAN_SECONDS = 5.0
log = logging.getLogger(__name__)


class NoModelError(Exception):
    """No blessed model has been pushed yet."""


@dataclass
class LoadedModel:
    version: str
    path: Path
    serve: Any  # the SavedModel's serving_default concrete function


class ModelStore:
    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self._model: LoadedModel | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the newest model now, if there is one, so the first prediction does not wait.

        A model that cannot be loaded must not keep the feature endpoints down: it is logged,
        and predictions try again (and answer with the error) on their next rescan.
        """
        try:
            self.current()
        except NoModelError:
            pass
        except Exception:
            log.exception("could not load the newest model from %s", self.model_dir)

    def newest_version(self) -> Path | None:
        """The highest numbered version directory holding a SavedModel (the Pusher's layout)."""
        if not self.model_dir.is_dir():
            return None
        versions = [
            p for p in self.model_dir.iterdir()
            if p.name.isdigit() and (p / "saved_model.pb").exists()
        ]  # fmt: skip
        return max(versions, key=lambda p: int(p.name), default=None)

    def _is_new(self, path: Path) -> bool:
        return self._model is None or path != self._model.path

    def current(self) -> LoadedModel:
        """The newest model; raises NoModelError before the first push."""
        now = time.monotonic()
        if self._model is None or now - self._checked > RESCAN_SECONDS:
            self._checked = now
            newest = self.newest_version()
            if newest is not None and self._is_new(newest):
                with self._lock:
                    if self._is_new(newest):  # another request may have loaded it meanwhile
                        self._model = _load(newest)
                        _refreeze()
        if self._model is None:
            raise NoModelError(
                f"no model has been pushed to {self.model_dir} yet; run the training DAG "
                "(taxi_training_pipeline) or tfx_pipeline/run_pipeline.py"
            )
        return self._model

    def predict(self, examples: list[bytes]) -> tuple[LoadedModel, list[float]]:
        import tensorflow as tf

        model = self.current()
        outputs = model.serve(examples=tf.constant(examples))["outputs"]
        return model, [float(p) for p in tf.reshape(outputs, [-1]).numpy()]


def _refreeze() -> None:
    """Freeze the new model's objects out of the garbage collector; let the old model go.

    A loaded SavedModel leaves ~100k long-lived objects; unfrozen, every full collection walks
    them and stalls a prediction ~200 ms. The app froze its startup objects; unfreezing first
    lets the collection free a replaced model instead of keeping it frozen forever.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _load(path: Path) -> LoadedModel:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    serve._loaded = loaded  # keep the trackable objects (lookup tables) alive
    return LoadedModel(version=path.name, path=path, serve=serve)
