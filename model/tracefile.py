"""The `*.trace.npz` file of ../shared/CONTRACT.md: one forward pass, every tensor by name.

NumPy only, so that scenes and outside tools can read traces without PyTorch.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError
from .files import atomic_write

META = "meta.json"
PARAM = "param."


class Trace:
    """A recorded forward pass: `trace["decoder.blocks.1.cross_attn.hook_pattern"]`, `trace.param("W_pos")`."""

    def __init__(self, meta: dict, arrays: dict[str, np.ndarray]):
        self.meta = meta
        self.arrays = arrays

    # --- what was run -----------------------------------------------------
    @property
    def model(self) -> str:
        return self.meta["model"]

    @property
    def config(self) -> dict:
        return self.meta["config"]

    @property
    def sentence(self) -> str:
        return self.meta["sentence"]

    @property
    def output(self) -> str:
        return self.meta["output"]

    def tokens(self, stack: str) -> list[str]:
        return list(self.meta["tokens"][stack])

    # --- the tensors --------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"the trace has no tensor {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    def param(self, name: str) -> np.ndarray:
        return self[PARAM + name]

    @property
    def hook_names(self) -> list[str]:
        return sorted(n for n in self.arrays if not n.startswith(PARAM))

    @property
    def param_names(self) -> list[str]:
        return sorted(n[len(PARAM):] for n in self.arrays if n.startswith(PARAM))

    # --- the file ---------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write atomically: a failure leaves no half-written file."""
        if not str(path).endswith(".npz"):
            raise InputError(f"a trace file name ends in .npz (got {path})")
        with atomic_write(path, "wb") as f:
            np.savez_compressed(f, **{META: np.array(json.dumps(self.meta, ensure_ascii=False))}, **self.arrays)

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(str(npz[META][()]))
                arrays = {k: npz[k] for k in npz.files if k != META}
        except FileNotFoundError:
            raise InputError(f"no trace file at {path}") from None
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise InputError(f"{path} is not a trace file ({type(e).__name__})") from None
        return cls(meta, arrays)
