"""The one-way rule: scenes read traces and never load PyTorch; models never load Manim.

Checked in fresh interpreters, since this test process has loaded both.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from model.trace import DEFAULT_SENTENCE
from scenes import available

from .conftest import ROOT

MODEL_MODULES = sorted(p.stem for p in (ROOT / "model").glob("*.py") if p.stem != "__main__")


def imports(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


@pytest.mark.parametrize("name", available())
def test_a_scene_module_loads_no_torch(name):
    assert "torch" not in imports(f"scenes.{name}")


def test_the_render_command_module_loads_no_torch_until_it_records():
    assert "torch" not in imports("render")


@pytest.mark.parametrize("name", MODEL_MODULES)
def test_a_model_module_loads_no_manim(name):
    assert "manim" not in imports(f"model.{name}")


def test_the_shipped_default_traces_are_the_checkpoints_own(translator):
    """Plain `manim` reads assets/default.<model>.trace.npz: it must be what the checkpoint computes now."""
    import numpy as np

    from model import MODELS
    from model.trace import record
    from scenes.kit.defaults import default_trace_path
    from model.tracefile import Trace

    for model in MODELS:
        path = default_trace_path(model)
        assert path.is_file(), f"{path} is missing: run `make traces`"
        shipped, fresh = Trace.load(path), record(model)
        assert shipped.meta == fresh.meta
        assert shipped.arrays.keys() == fresh.arrays.keys()
        for k in fresh.arrays:
            # float32 as another CPU computes it (other vector widths sum in another order): a few units in the
            # last place of the tensor's largest values, so the tolerance is relative to the tensor's scale
            scale = float(np.abs(fresh[k]).max()) if fresh[k].size and fresh[k].dtype.kind == "f" else 0.0
            np.testing.assert_allclose(shipped[k], fresh[k], rtol=1e-5, atol=1e-5 * scale, err_msg=k)
    assert Trace.load(default_trace_path("translator")).sentence == DEFAULT_SENTENCE
