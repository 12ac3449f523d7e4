"""The example pipeline (examples/editorial_pipeline.py), loaded fresh."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "editorial_pipeline.py"


def load_example() -> ModuleType:
    """A fresh copy of examples/editorial_pipeline.py (its fake models answer
    once)."""
    name = "editorial_pipeline_%s" % uuid.uuid4().hex
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # LangGraph resolves the state's type hints here
    spec.loader.exec_module(module)
    return module
