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


_IMPORT_IN_TURN = """
import importlib, sys
forbidden = sys.argv[1]
for module in sys.argv[2:]:
    importlib.import_module(module)
    print(module, *sorted({m.split(".")[0] for m in sys.modules}), flush=True)
    if forbidden in sys.modules:
        break
"""


def imports_in_turn(modules: list[str], forbidden: str) -> dict[str, set[str]]:
    """{module: the top-level packages loaded once it is imported}, from one fresh interpreter importing the
    modules in turn; after one that loads `forbidden`, the rest go on in another fresh one. A module imported
    after clean ones sees its own imports and theirs, none of them `forbidden`: if `forbidden` is loaded
    then, this module loaded it; if not, it did not."""
    loaded: dict[str, set[str]] = {}
    while len(loaded) < len(modules):
        rest = [m for m in modules if m not in loaded]
        r = subprocess.run([sys.executable, "-c", _IMPORT_IN_TURN, forbidden, *rest], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        for line in r.stdout.splitlines():
            module, *packages = line.split()
            loaded[module] = set(packages)
    return loaded


@pytest.fixture(scope="module")
def scene_imports() -> dict[str, set[str]]:
    return imports_in_turn([f"scenes.{name}" for name in available()] + ["render"], "torch")


@pytest.fixture(scope="module")
def model_imports() -> dict[str, set[str]]:
    return imports_in_turn([f"model.{name}" for name in MODEL_MODULES], "manim")


@pytest.mark.parametrize("name", available())
def test_a_scene_module_loads_no_torch(name, scene_imports):
    assert "torch" not in scene_imports[f"scenes.{name}"]


def test_the_render_command_module_loads_no_torch_until_it_records(scene_imports):
    assert "torch" not in scene_imports["render"]


@pytest.mark.parametrize("name", MODEL_MODULES)
def test_a_model_module_loads_no_manim(name, model_imports):
    assert "manim" not in model_imports[f"model.{name}"]


# A fresh trace and the shipped one are the same forward pass on different machines: the file was recorded
# on one CPU, the test runs on another, whose float32 kernels (AVX-512 or AVX2) sum in another order and
# differ by an ulp or a few per operation, growing through four layers (seen: 1.9e-6 on values near 7).
# 1e-5 of each tensor's scale (its largest magnitude, at least 1) is about 80 float32 ulps at that scale:
# well above those differences, 1000 times finer than the two decimals a scene shows. Ids, masks and the
# words (meta: tokens, the greedy translation) must be exactly equal.
CROSS_CPU = 1e-5


def shipped_and_fresh():
    """(file, shipped trace, the same recording made now) for every default trace plain `manim` reads."""
    from model import MODELS
    from model.trace import record
    from model.tracefile import Trace
    from reel.clip import record_slots
    from scenes import registry
    from scenes.kit.defaults import default_slot_path, default_trace_path, slot_is_plain

    for model in MODELS:
        path = default_trace_path(model)
        assert path.is_file(), f"{path} is missing: run `make traces`"
        yield path, Trace.load(path), record(model)
    for cls in registry().values():
        own = [slot for slot in cls.needs if not slot_is_plain(cls, slot)]
        if own:
            fresh = record_slots(cls, None, None)
            for slot in own:
                path = default_slot_path(cls, slot)
                assert path.is_file(), f"{path} is missing: run `make traces`"
                yield path, Trace.load(path), fresh[slot]


def test_the_shipped_default_traces_are_the_checkpoints_own(translator):
    """Plain `manim` reads assets/default.*.trace.npz: each must be what the checkpoints compute now."""
    import numpy as np

    from model.tracefile import Trace
    from scenes.kit.defaults import default_trace_path

    for path, shipped, fresh in shipped_and_fresh():
        assert shipped.meta == fresh.meta, path
        assert shipped.arrays.keys() == fresh.arrays.keys(), path
        for k, a in fresh.arrays.items():
            if np.issubdtype(a.dtype, np.floating):
                scale = max(1.0, float(np.abs(a[np.isfinite(a)]).max(initial=0.0)))
                np.testing.assert_allclose(shipped[k], a, rtol=0, atol=CROSS_CPU * scale, err_msg=f"{path.name}: {k}")
            else:
                np.testing.assert_array_equal(shipped[k], a, err_msg=f"{path.name}: {k}")
    assert Trace.load(default_trace_path("translator")).sentence == DEFAULT_SENTENCE
