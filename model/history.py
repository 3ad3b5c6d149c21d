"""The translator's training, as `make train` logged it: its loss at every step and the steps whose
weights are shipped (assets/translator.training.json). Torch-free, so that scenes can draw the curve:

    h = read_history()
    h.snapshot_steps                    # (0, 150, 600, 2500, 10000), say
    h.loss_at(h.snapshot_steps[1])      # the training loss where the second snapshot was taken

The weights themselves are in assets/translator.snapshots.pt (`model.trace.record(snapshot=step)`
records a trace with them, and writes the curve up to that step into it: `curve_until`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import TRAINING
from .errors import InputError

LOSS_DIGITS = 6  # significant digits of each logged loss (float32 holds about 7)


@dataclass(frozen=True)
class TrainingHistory:
    losses: tuple[float, ...]  # losses[s]: the training batch of step s, read by the weights after s updates
    snapshot_steps: tuple[int, ...]  # the first is 0 (the random start), the last the final step
    seed: int
    label_smoothing: float
    d_model: int
    batch_size: int
    record: dict  # the whole file, for anything else (lr, warmup, config …)

    @property
    def steps(self) -> range:
        """The steps that have a loss: 0 … final step − 1."""
        return range(len(self.losses))

    @property
    def final_step(self) -> int:
        return self.snapshot_steps[-1]

    def loss_at(self, step: int) -> float:
        """The logged loss at `step`; the final step (no batch is drawn after the last update) gives the last one."""
        if not 0 <= step <= len(self.losses):
            raise InputError(f"training ran steps 0 to {len(self.losses)}; there is no step {step}")
        return self.losses[min(step, len(self.losses) - 1)]

    def curve_until(self, step: int) -> dict[str, np.ndarray]:
        """The loss curve as a snapshot at `step` knows it, as a trace stores it: every logged step up to it,
        `training.step` (int64) and `training.loss` (float32, the logged values). Its last entry is the snapshot's
        own loss (`loss_at(step)`: for the final step, the last batch's, read after one update fewer)."""
        self.loss_at(step)  # a step training ran
        n = min(step, len(self.losses) - 1) + 1
        return {"training.step": np.arange(n, dtype=np.int64),
                "training.loss": np.asarray(self.losses[:n], dtype=np.float32)}


def read_history(path: str | Path = TRAINING) -> TrainingHistory:
    """The training record `make train` wrote (default: assets/translator.training.json)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no training record at {path}; run: python -m model train --model translator") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{path} is not a training record ({type(e).__name__})") from None
    return TrainingHistory(
        losses=tuple(data["loss"]),
        snapshot_steps=tuple(data["snapshot_steps"]),
        seed=data["seed"],
        label_smoothing=data["label_smoothing"],
        d_model=data["config"]["d_model"],
        batch_size=data["batch_size"],
        record=data,
    )
