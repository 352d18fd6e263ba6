"""How `make test` spreads the suite over pytest-xdist workers: whole modules, not single tests.

Each module runs on one worker, so a module-scoped store is built once, not once per worker;
the modules that serve the pipeline's model (``model_support.MODEL_MODULES``) form one unit, run
in collection order after the training DAG's end-to-end module, so they reuse its model instead
of each training one. (xdist's own ``--dist loadgroup`` would do this with marks, but xdist 3.8
sets a node id attribute that pytest 9 no longer reads, so its groups are silently ignored.)
"""

from __future__ import annotations

from pathlib import PurePosixPath

from xdist.scheduler import LoadScopeScheduling

from tests.model_support import MODEL_MODULES


class ModuleScheduling(LoadScopeScheduling):
    """LoadScopeScheduling with one unit per test module, and one for the model's modules."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return "model" if PurePosixPath(module).name in MODEL_MODULES else module
