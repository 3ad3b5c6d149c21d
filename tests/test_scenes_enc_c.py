"""The encoder scenes multi_head, add_norm, feed_forward and encoder_stack (issue 7): each shows the
tensors it is about, and its captions state what those tensors hold.

Each scene runs once, without video, under the frame check (`check_scene`); the tests read its
values manifest and its beat records. The frame check and the manifest-against-trace check for
three sentences are in tests/test_scenes.py, which covers every registered scene.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenes.kit.framecheck import check_scene

from .conftest import SENTENCES


@pytest.fixture(scope="module")
def run(checked):
    """The scene, frame-checked on the default sentence with these options (conftest.checked)."""

    def get(name: str, options: dict | None = None):
        scene, problems = checked(name, None, **(options or {}))
        assert not problems, "\n".join(map(str, problems[:10]))
        return scene

    return get


def shown(scene, tensor: str) -> list[tuple[int, ...]]:
    """Indices of `tensor` that the scene put on screen."""
    return [tuple(v["index"]) for v in scene.manifest.to_dict()["values"] if v["tensor"] == tensor]


def captions(scene) -> list[str]:
    return [c.text for b in scene.beats for c in b.captions]


# --------------------------------------------------------------------------- add_norm
def test_add_norm_shows_each_rows_mean_and_variance(run):
    scene = run("add_norm")
    ln = f"encoder.blocks.{scene.opt['layer']}.ln1"
    n = len(scene.trace.tokens("encoder"))
    for stat in ("hook_mean", "hook_var"):
        assert sorted(shown(scene, f"{ln}.{stat}")) == [(i,) for i in range(n)], stat
    for tensor in (f"{ln}.hook_normalized", f"{ln}.hook_out", f"param.{ln}.w", f"param.{ln}.b",
                   f"encoder.blocks.{scene.opt['layer']}.hook_attn_sum"):
        assert shown(scene, tensor), tensor


def test_add_norm_captions_name_the_most_and_least_spread_rows(run):
    scene = run("add_norm")
    var = scene.trace[f"encoder.blocks.{scene.opt['layer']}.ln1.hook_var"]
    words = scene.trace.tokens("encoder")
    text = " ".join(captions(scene))
    hi, lo = words[int(var.argmax())], words[int(var.argmin())]
    assert f"\u201c{hi}\u201d is the most spread out, \u201c{lo}\u201d the least" in text
    assert "mean 0 and variance 1" in text  # true of hook_normalized: the scene checks before it says so


# --------------------------------------------------------------------------- feed_forward
def test_feed_forward_shows_pre_and_post_activations_with_relus_zeros(run):
    scene = run("feed_forward")
    mlp = f"encoder.blocks.{scene.opt['layer']}.mlp"
    pre, post = shown(scene, f"{mlp}.hook_pre"), shown(scene, f"{mlp}.hook_post")
    assert pre and post and shown(scene, f"{mlp}.hook_out")
    zeros = [i for i in post if scene.trace[f"{mlp}.hook_post"][i] == 0]
    assert zeros, "no zero of ReLU on screen"
    assert all(scene.trace[f"{mlp}.hook_pre"][i] <= 0 for i in zeros)


def test_feed_forward_counts_relus_zeros_from_the_trace(run):
    scene = run("feed_forward")
    post = scene.trace[f"encoder.blocks.{scene.opt['layer']}.mlp.hook_post"]
    text = " ".join(captions(scene))
    assert f"ReLU zeroes {int((post == 0).sum())} of these {post.size} numbers" in text


# --------------------------------------------------------------------------- multi_head
def test_multi_head_shows_every_heads_pattern_and_output_and_the_mixed_result(run):
    scene = run("multi_head")
    a = f"encoder.blocks.{scene.opt['layer']}.self_attn"
    n_heads = scene.trace.config["n_heads"]
    for name in ("hook_pattern", "hook_z"):
        heads = {i[0] for i in shown(scene, f"{a}.{name}")}
        assert heads == set(range(n_heads)), (name, heads)
    assert shown(scene, f"{a}.hook_out")
    assert all(not t.startswith("decoder") for t in {v["tensor"] for v in scene.manifest.to_dict()["values"]})


def test_multi_head_names_where_each_head_looks_from_the_pattern(run):
    scene = run("multi_head")
    pattern = scene.trace[f"encoder.blocks.{scene.opt['layer']}.self_attn.hook_pattern"]
    words = scene.trace.tokens("encoder")
    said = [c for c in captions(scene) if c.startswith("The same word")]
    differ = any(len({int(pattern[h, r].argmax()) for h in range(pattern.shape[0])}) == pattern.shape[0]
                 for r in range(pattern.shape[1]))
    assert bool(said) == differ  # (the default sentence's 9 rows are all shown: nothing folded away)
    for text in said:  # the word named looks, in each head, at that head's largest weight
        assert any(all(f"head {h} at \u201c{words[int(pattern[h, r].argmax())]}\u201d" in text
                       for h in range(pattern.shape[0]))
                   for r, w in enumerate(words) if f"\u201c{w}\u201d" in text.split("looks in")[0]), text


def test_multi_head_says_how_many_words_each_head_focuses_from_the_pattern(run):
    from scenes.kit.choose import SHARP

    scene = run("multi_head")
    pattern = scene.trace[f"encoder.blocks.{scene.opt['layer']}.self_attn.hook_pattern"]
    sharp = [int((pattern[h].max(-1) > SHARP).sum()) for h in range(pattern.shape[0])]
    text = scene.sharpness_sentence(pattern)
    assert text in captions(scene)
    for h, k in enumerate(sharp):
        assert f"{k if k else 'none'} in head {h}" in text, text
    # a pattern where no word focuses (each row spread evenly) is said as such, not as a list of "none"s
    even = np.full_like(pattern, 1.0 / pattern.shape[-1])
    assert scene.sharpness_sentence(even).startswith(f"None of the {pattern.shape[1]} words puts")


# --------------------------------------------------------------------------- encoder_stack
def test_encoder_stack_follows_the_stream_through_every_block_to_the_memory(run):
    scene = run("encoder_stack")
    n_layers = scene.trace.config["n_layers"]["encoder"]
    assert shown(scene, "encoder.blocks.0.hook_resid_pre")
    for i in range(n_layers):
        assert shown(scene, f"encoder.blocks.{i}.hook_resid_post"), i
    n = len(scene.trace.tokens("encoder"))
    memory = shown(scene, "encoder.hook_out")
    assert {i[0] for i in memory} >= {0, n - 1}  # the memory's first and last rows at least (long ones fold)
    assert scene.beats[-1].name == "the memory"


# --------------------------------------------------------------------------- the shared multi-head beat
def test_the_shared_heads_beat_serves_cross_attention_too(traces_for):
    """scenes/kit/heads.combine_heads, run on the decoder's cross-attention (where cross_attention
    shows it): it passes the frame check and draws every head's weights and outputs and the mixed out."""
    from scenes.kit import palette
    from scenes.kit.base import ReelScene
    from scenes.kit.heads import combine_heads
    from scenes.kit.options import Head, Layer

    class Heads(ReelScene):
        name = "cross_attention"
        summary = "the shared heads beat"
        options = (Layer(stack="decoder"), Head(attention="decoder.blocks.{layer}.cross_attn"))

        def construct(self):
            a = f"decoder.blocks.{self.opt['layer']}.cross_attn"
            with self.beat("heads", poster=True):
                combine_heads(self, a, lambda s: self.labels("decoder", s), lambda s: self.labels("encoder", s),
                              self.opt["head"], palette.DECODER)

    scene, problems = check_scene(Heads, traces_for(SENTENCES["limit"], Heads.needs))
    assert not problems, "\n".join(map(str, problems[:10]))
    a = f"decoder.blocks.{scene.opt['layer']}.cross_attn"
    n_heads = scene.trace.config["n_heads"]
    assert {i[0] for i in shown(scene, f"{a}.hook_z")} == set(range(n_heads))
    assert shown(scene, f"{a}.hook_out")
