"""The training scene: its slots (one per snapshot of training), the snapshot traces (the contract's names plus the
loss curve, every tensor recomputed in NumPy, the curve equal to what training logged), its values manifest, its
captions against the numbers (doctored traces included), the pattern morphing between snapshots, and the frame
check on one more sentence than tests/test_scenes.py's three.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

from model import TRAINING
from model.tracefile import Trace
from scenes import CATALOGUE, TEACHING_ORDER, scene_class
from scenes.kit.animations import Refill
from scenes.kit.manifest import format_value

from .checks import check_manifest
from .conftest import SENTENCES, without_torch
from .test_trace import (
    SNAPSHOT_NAMES,
    check_decoder_chain,
    check_embedding,
    check_encoder_style_stack,
    check_shapes_and_dtypes,
    contract_names,
)

Training = scene_class("training")
HAPPY = "the happy dogs and the old cat play in the garden"
ALL = {**SENTENCES, "happy": HAPPY}
LOGGED = json.loads(TRAINING.read_text(encoding="utf-8"))  # what training logged, read here without model.history


def steps() -> list[int]:
    return list(LOGGED["snapshot_steps"])


@pytest.fixture(scope="module")
def traces(traces_for):
    def get(sentence: str | None = None) -> dict:
        return traces_for(sentence, Training.needs, Training)

    return get


def beat_text(scene, beat: str) -> list[str]:
    return [c.text for b in scene.beats if b.name == beat for c in b.captions]


def output(trace) -> list[str]:
    return list(trace.meta["output_tokens"])


def sharpness(trace, head: int, layer: int = 1) -> str:
    """The chosen head's mean row maximum, recomputed here, as the scene shows it."""
    pattern = trace[f"decoder.blocks.{layer}.cross_attn.hook_pattern"][head].astype(np.float64)
    return format_value(float(np.mean([row.max() for row in pattern])), 2)


# ----------------------------------------------------------------------------- the catalogue and the slots
def test_training_is_its_own_chapter_just_before_the_families():
    chapters = [c for c, _ in CATALOGUE]
    assert dict(CATALOGUE)["how it learned"] == ("training",)
    assert chapters.index("how it learned") + 1 == chapters.index("the families")
    assert TEACHING_ORDER.index("training") + 1 == TEACHING_ORDER.index("bert_gpt")


def test_one_slot_per_snapshot_the_final_first_and_every_other_reads_its_translation():
    with without_torch():
        final, *rest = Training.needs
        assert final == f"step-{steps()[-1]}" and rest == [f"step-{s}" for s in steps()[:-1]]
        for sentence, target in ((None, None), ("cats sleep", "les chats dorment")):
            assert Training.recording(final, sentence, target) == {
                "name": "translator", "sentence": sentence, "snapshot": steps()[-1], "target": target}
            for slot, step in zip(rest, steps()):
                assert Training.recording(slot, sentence, target) == {
                    "name": "translator", "sentence": sentence, "snapshot": step, "target_from": final}
    assert {o.model for o in Training.options} == {final}  # the head is chosen on the final weights


# ----------------------------------------------------------------------------- the snapshot traces
@pytest.mark.parametrize("sentence", ["default", "two_words"])
def test_snapshot_traces_follow_the_contract_and_recompute_in_numpy(traces, sentence):
    got = traces(SENTENCES[sentence])
    final = got[Training.needs[0]]
    base = {"model", "config", "tokens", "sentence", "output", "step"}
    for slot, trace in got.items():
        step = int(slot.split("-")[1])
        assert trace.meta["step"] == step and set(trace.meta) == base | {"output_tokens"}
        assert set(trace.arrays) == contract_names("translator", trace.config["n_layers"], snapshot=True)
        check_shapes_and_dtypes(trace)
        check_embedding(trace)
        check_encoder_style_stack(trace, "encoder", causal=False)
        check_decoder_chain(trace)
        # every snapshot's decoder reads the final weights' translation: one shape for every pattern
        assert trace.tokens("decoder") == ["<bos>", *output(final)[:-1]]
        assert trace.tokens("encoder") == final.tokens("encoder")


def test_each_snapshot_writes_its_own_greedy_translation(traces):
    """`output_tokens` is what that snapshot's weights write, greedy (specials included), and `output` its text."""
    import torch

    from model.train import load_snapshot, one_thread

    for slot, trace in traces(None).items():
        model, tok = load_snapshot(trace.meta["step"])
        with one_thread():
            ids = model.greedy(torch.tensor([trace["encoder.hook_tokens"].tolist()]), tok.bos_id, tok.eos_id)[0]
        if tok.eos_id in ids:
            ids = ids[: ids.index(tok.eos_id) + 1]
        assert output(trace) == [tok.itos[i] for i in ids], slot
        assert trace.output == tok.decode([tok.stoi[w] for w in output(trace)])


@pytest.mark.parametrize("sentence", ["default", "happy"])
def test_the_curve_in_each_trace_is_what_training_logged(traces, sentence):
    losses = LOGGED["loss"]
    for slot, trace in traces(ALL[sentence]).items():
        step = trace.meta["step"]
        n = min(step, len(losses) - 1) + 1  # up to the snapshot's own batch; the final weights: the last logged
        np.testing.assert_array_equal(trace["training.step"], np.arange(n))
        np.testing.assert_array_equal(trace["training.loss"], np.asarray(losses[:n], dtype=np.float32))
        assert trace["training.step"].dtype == np.int64 and trace["training.loss"].dtype == np.float32
    assert len(traces(ALL[sentence])[Training.needs[0]]["training.loss"]) == len(losses)  # the whole curve


def test_only_a_snapshot_trace_carries_the_curve(trace):
    assert not SNAPSHOT_NAMES & set(trace.arrays) and "output_tokens" not in trace.meta


# ----------------------------------------------------------------------------- the manifest
@pytest.mark.parametrize("sentence", ["default", "happy"])
def test_the_manifest_draws_from_every_snapshot(checked, sentence):
    scene, problems = checked("training", ALL[sentence])
    assert not problems, "\n".join(map(str, problems[:20]))
    manifest = scene.manifest.to_dict()
    check_manifest(manifest, scene.traces, min_values=2 * len(Training.needs))
    assert manifest["traces"] == {s: f"training.{s}.trace.npz" for s in Training.needs}
    head = scene.head
    for slot, trace in scene.traces.items():
        mine = [v for v in manifest["values"] if v["trace"] == slot]
        n = len(trace["training.loss"])
        # its loss, the last of its curve; its pattern's sharpness, derived from the chosen head's pattern
        assert {"tensor": "training.loss", "index": [n - 1], "shown": format_value(float(trace["training.loss"][-1]))} \
            in [{k: v[k] for k in ("tensor", "index", "shown")} for v in mine]
        assert {"tensor": "decoder.blocks.1.cross_attn.hook_pattern", "index": [head], "shown": sharpness(trace, head),
                "derived": "mean_row_max"} in [{k: v[k] for k in v if k != "trace"} for v in mine]
    assert {v["trace"] for v in manifest["values"]} == set(Training.needs)
    assert 60 <= scene.renderer.time <= 120


# ----------------------------------------------------------------------------- the captions
def numbers_in(text: str) -> list[str]:
    return re.findall(r"\d+\.\d\d", text)


@pytest.mark.parametrize("sentence", list(ALL))
def test_captions_say_what_the_numbers_say(checked, sentence):
    scene, _ = checked("training", ALL[sentence])
    got = scene.traces
    order = sorted(Training.needs, key=lambda s: got[s].meta["step"])
    final = output(got[Training.needs[0]])
    first = next(got[s].meta["step"] for s in order if output(got[s]) == final)
    losses = [format_value(float(got[s]["training.loss"][-1])) for s in order]
    sharp = [sharpness(got[s], scene.head) for s in order]
    said = " ".join(beat_text(scene, "loss"))
    assert f"from {losses[0]} to {losses[-1]}" in said and "label-smoothed cross-entropy" in said
    for k, slot in enumerate(order):
        step = got[slot].meta["step"]
        said = beat_text(scene, f"step {step}")
        words = said[-2] if k == 0 else said[-1]
        assert words.startswith(f"At step {step}") or words.startswith(f"Only at step {step}"), words
        if output(got[slot]) == final:
            assert "final translation" in words or "same translation" in words, words
            assert ("first time" in words) == (step == first < steps()[-1]), words
        else:
            assert "final translation for the first time" not in words
            cut = output(got[slot])[-1:] != ["<eos>"]
            assert (f"cut at {len(output(got[slot]))} words" in words) == cut, words
        if k == 0:  # the first pattern, against an even spread over the English words
            even = format_value(1 / got[slot]["encoder.hook_tokens"].shape[0])
            assert numbers_in(said[-1]) == [sharp[0], even], said[-1]
        else:  # each later one, against the one before (on screen a moment ago)
            how = "sharpens to" if float(sharp[k]) > float(sharp[k - 1]) else "blurs to" if sharp[k] != sharp[k - 1] \
                else "stays at"
            assert words.endswith(f"the pattern {how} {sharp[k]}."), words
    summary = " ".join(beat_text(scene, "side by side"))
    k = [got[s].meta["step"] for s in order].index(first)
    assert f"at a loss of {losses[k]};" in summary and f"from {sharp[0]} to {sharp[-1]}" in summary
    assert (f"first comes out at step {first}," in summary) == (first < steps()[-1]), summary


def test_captions_follow_doctored_traces(traces):
    """The same traces, but the snapshot at step 300 made to write the final translation and the one at 150 to
    write a word only the English side knows: the captions move with them."""
    from scenes.kit.framecheck import check_scene

    got = {s: Trace(copy.deepcopy(t.meta), t.arrays) for s, t in traces(None).items()}
    final = output(got[Training.needs[0]])
    got["step-300"].meta["output_tokens"] = list(final)
    got["step-150"].meta["output_tokens"] = ["the", "<unk>", "chat", "<eos>"]
    with without_torch():
        scene, problems = check_scene(Watched, got)
    assert not problems, "\n".join(map(str, problems[:20]))
    said = {step: beat_text(scene, f"step {step}")[-1] for step in (150, 300, 600, 1000)}
    assert said[300].startswith("At step 300 it writes the final translation for the first time; the pattern")
    assert said[600].startswith("At step 600") and "first time" not in said[600]
    assert said[1000].startswith("At step 1000 it still writes the final translation; the pattern")
    assert said[150].startswith("At step 150 it writes 3 words, 1 of them English; the pattern")
    loss_300 = format_value(float(got["step-300"]["training.loss"][-1]))
    assert f"first comes out at step 300, at a loss of {loss_300};" in " ".join(beat_text(scene, "side by side"))
    # the special token is written as it was, in grey, not dropped
    assert "<unk>" in [w.text for w in scene.translations[1][0].family_members_with_points() if hasattr(w, "text")]
    check_morph(scene)


# ----------------------------------------------------------------------------- the morph
class Watched(Training):
    """The scene, noting at the end of each snapshot's beat which grid is on screen and how bright its squares are,
    and which animations refill it."""

    def setup(self):
        super().setup()
        self.seen, self.refills = [], []

    def snapshot(self, i: int) -> None:
        super().snapshot(i)
        on_screen = any(self.grid is m for m in self.get_mobject_family_members())
        self.seen.append((id(self.grid), on_screen, [self.grid.square(r, c).get_fill_opacity() for r, c in self.cells]))

    def play(self, *animations, **kwargs):
        self.refills += [len(self.beats)] * sum(isinstance(a, Refill) and a.mobject is self.grid for a in animations)
        super().play(*animations, **kwargs)


def check_morph(scene) -> None:
    """One grid, on screen from the first snapshot to the last, refilled (never cut) in each later snapshot's beat,
    showing each snapshot's own weights at the end of its beat."""
    assert len({g for g, _, _ in scene.seen}) == 1 and all(on for _, on, _ in scene.seen)
    for (_, _, opacities), pattern in zip(scene.seen, scene.patterns):
        np.testing.assert_allclose(opacities, [pattern[r, c] for r, c in scene.cells], atol=1e-6)
    first_beat = [b.name for b in scene.beats].index(f"step {scene.steps[0]}") + 1
    assert scene.refills == list(range(first_beat + 1, first_beat + len(scene.steps)))


# ----------------------------------------------------------------------------- the frame check, a fourth sentence
def test_frame_check_passes_on_a_fourth_sentence(checked):
    scene, problems = checked("training", HAPPY)
    assert not problems, "\n".join(map(str, problems[:20]))
    assert 60 <= scene.renderer.time <= 120
