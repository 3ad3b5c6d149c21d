"""`python render.py …` as a user types it: the files it leaves, every number it shows, bad input.

Speed matters (CI: 2 cores, 15 minutes for the whole suite), so exactly one full
low-quality video is rendered in this file (the module-scoped `full_render`); every
other render uses `--still`, which writes the last frame but still the full manifest,
and each distinct command is rendered once per module and shared by its tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from model.tracefile import Trace
from scenes import SCENES
from scenes.manifest import MINUS, parse_shown

from . import test_trace as tt  # the module, not its tests: pytest must not collect them twice here
from .conftest import run_cli
from .test_trace import check_attention, check_ln, check_mlp, contract_names, expected_shape

SCENE = "cross_attention"
DEFAULT_SENTENCE = "the black cat looks at the small fish"
VIDEO_LINE = re.compile(r"\((\d+(?:\.\d+)?) s of video\)")
PER_HEAD = ("hook_q", "hook_k", "hook_v", "hook_scores", "hook_scores_scaled", "hook_pattern", "hook_z")
PASSWD = "root:x:0:0"

# name → (extra arguments, the sentence the trace must record, the decoder tokens after <bos> or None)
CASES = {
    "default": ([], DEFAULT_SENTENCE, None),
    "adjectives": (["--sentence", "the small black dog sees a red apple"], "the small black dog sees a red apple", None),
    "unknown_word": (["--sentence", "the blak cat eats the fish"], "the blak cat eats the fish", None),
    "target": (["--sentence", "the cat sleeps", "--target", "Le chien dort."], "the cat sleeps", ["le", "chien", "dort"]),
    "layer0_head1": (["--layer", "0", "--head", "1"], DEFAULT_SENTENCE, None),
    # at layer 0 the sharpest head is 1 anyway; head 0 of the default layer shows that --head is obeyed
    "head0": (["--head", "0"], DEFAULT_SENTENCE, None),
    # 12 source tokens: more columns than a matrix shows (the middle ones fold into "⋯")
    "long": (["--sentence", "the cat eats the fish and the dog eats the apple"],
             "the cat eats the fish and the dog eats the apple", None),
}
# at most 20 words once split (the limit), with TeX's and HTML's special characters
HOSTILE_SHORT = [
    r"the cat \input{x} eats <b>fish</b> $y$ %",
    r"$ % & # the cat \input{/etc/passwd} eats <b>",
]
HOSTILE_LONG = r"\input{/etc/passwd} $x$ % & # _ { } <b>x</b>"  # 25 words


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def render(out: Path, *args: str):
    return run_cli("render.py", "--scene", SCENE, "--quality", "low", "--out", str(out), *args)


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr


def assert_clean_failure(r, out: Path | None, *words: str) -> str:
    """Exit 2, exactly one line on stderr (no traceback) containing `words`, nothing left in `out`."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    if out is not None:
        left = sorted(p.name for p in out.iterdir())
        assert left == [], f"a failure must leave no file behind, found {left}"
    return lines[0]


def shown_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def shown_matches(text: str, value: float) -> bool:
    """CONTRACT: right when the text equals the tensor at the shown precision (−0.00 counts as 0.00)."""
    d = shown_decimals(text)
    expected = round(float(value), d)
    if expected == 0:
        expected = 0.0  # -0.0 → 0.0
    return parse_shown(text) == expected


def check_manifest(out: Path) -> tuple[dict, Trace]:
    """Every entry of out/NAME.values.json points into the trace beside it and shows its value."""
    manifest = json.loads((out / f"{SCENE}.values.json").read_text(encoding="utf-8"))
    assert manifest["scene"] == SCENE
    assert manifest["traces"] == {"translator": f"{SCENE}.trace.npz"}
    trace_path = out / manifest["traces"]["translator"]
    assert trace_path.is_file(), "the manifest names a trace that is not beside it"
    trace = Trace.load(trace_path)
    values = manifest["values"]
    assert len(values) > 100, f"only {len(values)} values on screen"
    wrong = []
    for v in values:
        assert v.get("trace", "translator") in manifest["traces"], v
        name, index, text = v["tensor"], tuple(v["index"]), v["shown"]
        assert name in trace, f"{name} is not in the trace"
        arr = trace[name]
        assert len(index) == arr.ndim, (v, arr.shape)
        assert all(0 <= i < n for i, n in zip(index, arr.shape)), (v, arr.shape)
        assert "-" not in text, f"shown numbers use U+2212 for minus, not '-': {v}"
        if text in ("-inf", MINUS + "\u221e"):  # a blocked cell: it points into the unmasked scores
            assert name.endswith(".hook_scores_scaled"), v
            assert bool(trace[name.replace("hook_scores_scaled", "hook_mask")][index[-2:]]), v
            continue
        assert re.fullmatch(rf"{MINUS}?\d+(\.\d+)?", text), f"not a number as shown: {v}"
        assert not re.fullmatch(rf"{MINUS}0(\.0+)?", text), f"a negative zero is shown as 0.00: {v}"
        if not shown_matches(text, arr[index]):
            wrong.append(f"{name}{list(index)}: shown {text}, tensor {float(arr[index])!r}")
    assert not wrong, f"{len(wrong)} of {len(values)} values do not match the trace:\n" + "\n".join(wrong[:20])
    return manifest, trace


def check_trace(trace: Trace, translator, own_output: bool) -> None:
    """The saved trace passes the foundation's consistency checks (tests/test_trace.py's helpers)."""
    cfg = trace.config
    assert set(trace.arrays) == contract_names(cfg["n_layers"]["encoder"], cfg["n_layers"]["decoder"])
    S, P = len(trace.tokens("encoder")), len(trace.tokens("decoder"))
    for name, arr in trace.arrays.items():
        assert arr.shape == expected_shape(name, cfg, S, P), name
    _, tok = translator
    for stack in ("encoder", "decoder"):
        assert [tok.itos[i] for i in trace[f"{stack}.hook_tokens"]] == trace.tokens(stack)
    tt.test_embedding_and_positions(trace)
    tt.test_encoder_chain(trace)
    if own_output:  # teacher-forced on its own greedy answer: also checks logits, probs and argmax
        tt.test_decoder_chain_and_output(trace, translator)
    else:  # a --target: the same chain, but the argmax need not follow the given words
        memory, x = trace["encoder.hook_out"], trace["decoder.hook_input"]
        for i in range(cfg["n_layers"]["decoder"]):
            b = f"decoder.blocks.{i}"
            check_attention(trace, f"{b}.self_attn", x, x, causal=True)
            check_ln(trace, f"{b}.ln1", trace[f"{b}.hook_attn_sum"])
            check_attention(trace, f"{b}.cross_attn", trace[f"{b}.ln1.hook_out"], memory, causal=False)
            check_ln(trace, f"{b}.ln2", trace[f"{b}.hook_cross_sum"])
            check_mlp(trace, f"{b}.mlp", trace[f"{b}.ln2.hook_out"])
            check_ln(trace, f"{b}.ln3", trace[f"{b}.hook_mlp_sum"])
            x = trace[f"{b}.hook_resid_post"]


def attention_entries(manifest: dict) -> list[tuple[str, str, tuple[int, ...]]]:
    """(layer prefix, hook, index) of every shown value of a cross-attention tensor."""
    found = []
    for v in manifest["values"]:
        m = re.fullmatch(r"(decoder\.blocks\.\d+)\.cross_attn\.(hook_\w+)", v["tensor"])
        if m:
            found.append((m.group(1), m.group(2), tuple(v["index"])))
    return found


# ---------------------------------------------------------------------------
# fixtures: each distinct command renders once
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stills(tmp_path_factory):
    """`stills(case)` → (completed process, out dir) of a `--still --quality low` render, run once per case."""
    done: dict[str, tuple] = {}

    def get(case: str, *args: str):
        if case not in done:
            out = tmp_path_factory.mktemp(f"still-{case}")
            done[case] = (render(out, "--still", *args), out)
        return done[case]

    return get


@pytest.fixture(scope="module")
def full_render(tmp_path_factory):
    """The one full low-quality video of this file."""
    out = tmp_path_factory.mktemp("full")
    return render(out), out


# ---------------------------------------------------------------------------
# the manifest and the trace, for several sentences
# ---------------------------------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize("case", list(CASES))
def test_still_manifest_values_are_the_traced_ones(case, stills, translator):
    args, sentence, target = CASES[case]
    r, out = stills(case, *args)
    assert_ok(r)
    assert (out / f"{SCENE}.png").is_file() and not (out / f"{SCENE}.mp4").exists()
    manifest, trace = check_manifest(out)
    assert trace.sentence == sentence
    if target is not None:
        assert trace.tokens("decoder") == ["<bos>", *target]
    else:
        assert trace.tokens("decoder")[1:] == trace.output.split()
    if case == "unknown_word":
        assert "<unk>" in trace.tokens("encoder") and "'blak'" in r.stderr
    check_trace(trace, translator, own_output=target is None)


@pytest.mark.render
def test_default_shows_q_k_v_pattern_z_of_the_last_decoder_layer(stills):
    args, _, _ = CASES["default"]
    r, out = stills("default", *args)
    assert_ok(r)
    manifest, trace = check_manifest(out)
    last = trace.config["n_layers"]["decoder"] - 1
    assert last == 1
    entries = attention_entries(manifest)
    hooks = {hook for prefix, hook, _ in entries if prefix == f"decoder.blocks.{last}"}
    for hook in ("hook_q", "hook_k", "hook_v", "hook_pattern", "hook_z"):
        assert hook in hooks, f"no value of decoder.blocks.{last}.cross_attn.{hook} on screen"
    layers = {v["tensor"].split(".")[2] for v in manifest["values"] if v["tensor"].startswith("decoder.blocks.")}
    assert layers == {str(last)}


@pytest.mark.render
@pytest.mark.parametrize("case, layer, head", [("layer0_head1", 0, 1), ("head0", 1, 0)])
def test_layer_and_head_choose_the_tensors_shown(case, layer, head, stills):
    r, out = stills(case, *CASES[case][0])
    assert_ok(r)
    manifest, trace = check_manifest(out)
    blocks = {v["tensor"].split(".")[2] for v in manifest["values"] if v["tensor"].startswith("decoder.blocks.")}
    assert blocks == {str(layer)}, blocks
    entries = attention_entries(manifest)
    for hook in ("hook_q", "hook_k", "hook_v", "hook_pattern", "hook_z"):
        assert any(h == hook for _, h, _ in entries), f"no {hook} shown"
    for _, hook, index in entries:
        if hook in PER_HEAD and hook != "hook_z":
            assert index[0] == head, f"{hook}{list(index)} is not head {head}"
    # Z is the one per-head tensor shown for every head (the closing "every head at once" beat);
    # the chosen head's Z is shown at least as often as any other head's
    z_heads = [index[0] for _, hook, index in entries if hook == "hook_z"]
    counts = np.bincount(z_heads, minlength=trace.config["n_heads"])
    assert counts[head] == counts.max() > 0, counts


# ---------------------------------------------------------------------------
# the one full video
# ---------------------------------------------------------------------------


@pytest.mark.render
def test_full_render_writes_video_of_the_announced_length(full_render):
    import av

    r, out = full_render
    assert_ok(r)
    movie = out / f"{SCENE}.mp4"
    assert movie.is_file() and movie.stat().st_size > 10_000
    m = VIDEO_LINE.search(r.stdout)
    assert m, f"no '(NN.N s of video)' in:\n{r.stdout}"
    announced = float(m.group(1))
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        duration = container.duration / 1e6
        by_frames = stream.frames / float(stream.average_rate)
        width, height = stream.codec_context.width, stream.codec_context.height
    assert abs(duration - announced) <= 0.2, (duration, announced)
    assert abs(by_frames - announced) <= 0.2, (by_frames, announced)
    assert 30 <= duration <= 120, duration
    assert (width, height) == (854, 480)
    # ≈, not ==: Manim stamps a clip whose run time is not a whole number of frames a few ticks short
    assert float(stream.average_rate) == pytest.approx(15, rel=1e-3)


@pytest.mark.render
def test_full_render_manifest_and_trace(full_render, stills, translator):
    r, out = full_render
    assert_ok(r)
    manifest, trace = check_manifest(out)
    check_trace(trace, translator, own_output=True)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [f"{SCENE}.mp4", f"{SCENE}.trace.npz", f"{SCENE}.values.json"]
    ), "only the three files of CONTRACT.md (and hidden bookkeeping) in the output folder"
    assert not [p for p in out.iterdir() if p.is_dir()], "the render's work folder was left behind"
    # --still skips writing frames, not drawing them: its manifest is the video's
    rs, still_out = stills("default", *CASES["default"][0])
    assert_ok(rs)
    still_manifest = json.loads((still_out / f"{SCENE}.values.json").read_text(encoding="utf-8"))
    assert still_manifest == manifest


@pytest.mark.render
def test_unchanged_rerender_is_skipped(full_render):
    r, out = full_render
    assert_ok(r)
    files = [out / f"{SCENE}.mp4", out / f"{SCENE}.values.json", out / f"{SCENE}.trace.npz"]
    before = {p: p.stat().st_mtime_ns for p in files}
    again = render(out)
    assert_ok(again)
    assert "nothing changed" in again.stdout, again.stdout
    assert "rendering" not in again.stdout, again.stdout
    assert {p: p.stat().st_mtime_ns for p in files} == before, "a skipped render must not touch its files"


# ---------------------------------------------------------------------------
# command-line errors
# ---------------------------------------------------------------------------


def test_list_names_every_scene():
    r = run_cli("render.py", "--list")
    assert_ok(r)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(SCENES)
    for name, line in zip(SCENES, lines):
        assert line.startswith(name + " "), line


def test_unknown_scene_lists_the_known_ones(tmp_path):
    line = assert_clean_failure(run_cli("render.py", "--scene", "nope", "--out", str(tmp_path)), tmp_path, "nope")
    for name in SCENES:
        assert name in line, line
    assert SCENE in line


@pytest.mark.parametrize(
    "args, words",
    [
        ([], ["--scene"]),
        (["--scene", SCENE, "--quality", "ultra"], ["ultra"]),
        (["--scene", SCENE, "--fps", "0"], ["--fps"]),
        (["--scene", SCENE, "--fps", "121"], ["--fps"]),
        (["--scene", SCENE, "--fps", "ten"], ["ten"]),
        (["--scene", SCENE, "--layer", "5"], ["--layer", "0", "1"]),
        (["--scene", SCENE, "--layer", "-1"], ["--layer", "0", "1"]),
        (["--scene", SCENE, "--head", "7"], ["--head", "0", "1"]),
        (["--scene", SCENE, "--sentence", ""], ["empty"]),
        (["--scene", SCENE, "--sentence", "  ?! "], ["empty"]),
    ],
    ids=["no-scene", "quality", "fps-0", "fps-121", "fps-text", "layer-5", "layer-neg", "head-7", "empty", "blank"],
)
def test_bad_options_fail_cleanly(args, words, tmp_path):
    line = assert_clean_failure(run_cli("render.py", *args, "--out", str(tmp_path)), tmp_path, *words)
    if "--layer" in words or "--head" in words:
        assert re.search(r"\b0\b.*\b1\b", line), f"the valid range (0 to 1) is not named: {line}"


def test_bad_options_create_no_output_folder(tmp_path):
    """An --out folder that does not exist yet is not created by a command that fails."""
    out = tmp_path / "new"
    for args in (["--layer", "5"], ["--sentence", " "]):
        assert_clean_failure(render(out, "--still", *args), None)
        assert not out.exists(), f"{' '.join(args)}: a failed render created {out}"


def test_out_is_an_existing_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert_clean_failure(render(blocker, "--still"), None, str(blocker))
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and blocker.read_text() == "keep me"


# ---------------------------------------------------------------------------
# hostile input
# ---------------------------------------------------------------------------


def test_hostile_long_sentence_names_the_limit(tmp_path):
    line = assert_clean_failure(render(tmp_path, "--still", "--sentence", HOSTILE_LONG), tmp_path, "limit")
    assert "20" in line and PASSWD not in line


@pytest.mark.render
@pytest.mark.parametrize("sentence", HOSTILE_SHORT, ids=["input-x", "input-passwd"])
def test_hostile_sentence_renders_literally(sentence, stills, translator):
    from model.tokenizer import normalize

    assert len(normalize(sentence)) <= 20
    r, out = stills(f"hostile-{HOSTILE_SHORT.index(sentence)}", "--sentence", sentence)
    assert_ok(r)
    assert PASSWD not in r.stdout + r.stderr
    manifest, trace = check_manifest(out)
    assert trace.sentence == sentence, "the sentence is recorded as typed"
    assert "<unk>" in trace.tokens("encoder")
    check_trace(trace, translator, own_output=True)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {f"{SCENE}.png", f"{SCENE}.trace.npz", f"{SCENE}.values.json"}
    for p in files:
        assert PASSWD.encode() not in p.read_bytes(), p
    assert PASSWD not in json.dumps(trace.meta) and PASSWD not in json.dumps(manifest)


def test_tex_escape_makes_every_special_character_literal(tmp_path):
    from manim import MathTex, Tex, tempconfig

    from scenes.components import tex_escape

    for ch in "\\{}$&#_%~^<>":
        escaped = tex_escape(ch)
        assert escaped != ch and escaped.startswith("\\"), (ch, escaped)
        assert escaped == "\\" + ch or re.fullmatch(r"\\text\w+\{\}", escaped), (ch, escaped)
    assert tex_escape("le chat noir 42") == "le chat noir 42"
    assert tex_escape("\\{") == r"\textbackslash{}\{", "escape once, left to right"

    # no ligatures in it (fi, ff …), so every visible character is exactly one glyph
    hostile = r"\input{/etc/passwd} $x$ % & # _ { } ~ ^ <b>x</b> |"
    glyphs = len(hostile.replace(" ", ""))
    with tempconfig({"media_dir": str(tmp_path / "media"), "tex_dir": str(tmp_path / "tex")}):
        math = MathTex(r"\text{" + tex_escape(hostile) + "}")
        text = Tex(tex_escape(hostile))
    for mob in (math, text):
        # printed character by character: nothing was read in, nothing commented out or swallowed
        assert len(mob.family_members_with_points()) == glyphs
    for f in (tmp_path / "tex").iterdir():
        assert PASSWD not in f.read_text(errors="replace"), f


@pytest.mark.render
def test_plain_manim_command_renders_the_default_sentence(tmp_path):
    """A Manim user's own command works too: `manim -ql -s scenes/cross_attention.py CrossAttention`."""
    import subprocess
    import sys

    from .conftest import ROOT

    manim = Path(sys.executable).with_name("manim")
    r = subprocess.run(
        [str(manim), "-ql", "-s", "--media_dir", str(tmp_path), str(ROOT / "scenes" / "cross_attention.py"), "CrossAttention"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    pngs = list(tmp_path.rglob("CrossAttention*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000
