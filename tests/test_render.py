"""`python render.py …` as a user types it: the files it leaves, every number it shows, the render
cache, faults and bad input.

Speed matters (CI: 2 cores, the whole suite in 10 minutes), so exactly one full low-quality
video, at 5 frames a second, is rendered in this file (the module-scoped `full_render`); every
other render uses `--still`, which writes the poster frame but still the full manifest,
and each distinct command is rendered once per module and shared by its tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from model.trace import DEFAULT_SENTENCE
from reel import formats
from model.tracefile import Trace
from scenes import available

from . import test_trace as tt  # the module, not its tests: pytest must not collect them twice here
from .checks import check_beats
from .checks import check_manifest as check_values
from .conftest import render_py, run_cli
from .test_trace import check_attention, check_ln, check_mlp, contract_names, expected_shape

SCENE = "cross_attention"  # the demo scene: its stills, options and full render
# A short scene for the tests of the pipeline (cache, keys, faults, commands): what they test is not the scene,
# and it renders in a third of the demo scene's time.
QUICK = "softmax"
SCENES = available()
VIDEO_LINE = re.compile(r"\((\d+(?:\.\d+)?) s of video\)")
PER_HEAD = ("hook_q", "hook_k", "hook_v", "hook_scores", "hook_scores_scaled", "hook_pattern", "hook_z")
PASSWD = "root:x:0:0"

# name → (extra arguments, the sentence the trace must record, the decoder tokens after <bos> or None)
CASES = {
    "default": ([], DEFAULT_SENTENCE, None),
    "adjectives": (["--sentence", "the small black dog sees a red apple"], "the small black dog sees a red apple", None),
    "unknown_word": (["--sentence", "the blak cat eats the fish", "--allow-unknown"], "the blak cat eats the fish", None),
    "target": (["--sentence", "the cat sleeps", "--target", "Le chien dort."], "the cat sleeps", ["le", "chien", "dort"]),
    "layer0_head1": (["--layer", "0", "--head", "1"], DEFAULT_SENTENCE, None),
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


def render(out: Path, *args: str, scene: str = SCENE):
    return run_cli("render.py", "--scene", scene, "--quality", "low", "--out", str(out), *args)


def render_here(out: Path, *args: str, scene: str = SCENE):
    """`render` in this process (`render_py`): the same command line, without a new interpreter's start."""
    return render_py("--scene", scene, "--quality", "low", "--out", str(out), *args)


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


def check_manifest(out: Path, scene: str = SCENE) -> tuple[dict, Trace]:
    """Every entry of out/NAME.values.json points into the trace beside it and shows its value."""
    manifest = json.loads((out / f"{scene}.values.json").read_text(encoding="utf-8"))
    assert manifest["scene"] == scene
    assert manifest["traces"] == {"translator": f"{scene}.trace.npz"}
    trace_path = out / manifest["traces"]["translator"]
    assert trace_path.is_file(), "the manifest names a trace that is not beside it"
    trace = Trace.load(trace_path)
    check_values(manifest, {"translator": trace}, min_values=100 if scene == SCENE else 20)
    return manifest, trace


def check_trace(trace: Trace, translator, own_output: bool) -> None:
    """The saved trace passes the foundation's consistency checks (tests/test_trace.py's helpers)."""
    cfg = trace.config
    assert set(trace.arrays) == contract_names("translator", cfg["n_layers"])
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
    """`stills(case)` → (completed process, out dir) of a `--still --quality low` render, run once per case.
    The cases of CASES run render.py in this process (`render_here`: the library under the command line, as a
    notebook calls it); the hostile sentences run it as its own process, whose every line of output (Manim's
    and LaTeX's included) the test reads."""
    done: dict[str, tuple] = {}

    def get(case: str, *args: str):
        if case not in done:
            out = tmp_path_factory.mktemp(f"still-{case}")
            done[case] = ((render_here if case in CASES else render)(out, "--still", *args), out)
        return done[case]

    return get


FULL = ("--fps", "5")  # the fewest frames that still show every beat at rest: a third of the quality's 15


@pytest.fixture(scope="module")
def full_render(tmp_path_factory):
    """The one full low-quality video of this file (at 5 frames a second)."""
    out = tmp_path_factory.mktemp("full")
    return render(out, *FULL), out


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
        rate = float(stream.average_rate)  # read while the file is open: after close the stream's memory is gone
        by_frames = stream.frames / rate
        width, height = stream.codec_context.width, stream.codec_context.height
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
    # what every slide program plays, with its index in front so a browser starts at once
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    atoms = formats.top_level_atoms(movie)
    assert atoms.index("moov") < atoms.index("mdat"), atoms
    assert abs(duration - announced) <= 0.2, (duration, announced)
    assert abs(by_frames - announced) <= 0.2, (by_frames, announced)
    assert 30 <= duration <= 120, duration
    assert (width, height) == (854, 480)
    # ≈, not ==: Manim stamps a clip whose run time is not a whole number of frames a few ticks short
    assert rate == pytest.approx(5, rel=1e-3)


@pytest.mark.render
def test_full_render_manifest_and_trace(full_render, stills, translator):
    r, out = full_render
    assert_ok(r)
    manifest, trace = check_manifest(out)
    check_trace(trace, translator, own_output=True)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [f"{SCENE}.mp4", f"{SCENE}.trace.npz", f"{SCENE}.values.json", f"{SCENE}.beats.json"]
    ), "only the four files of CONTRACT.md (and hidden bookkeeping) in the output folder"
    beats = json.loads((out / f"{SCENE}.beats.json").read_text(encoding="utf-8"))
    check_beats(beats, SCENE, float(VIDEO_LINE.search(r.stdout).group(1)))
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
    files = [out / f"{SCENE}.mp4", out / f"{SCENE}.values.json", out / f"{SCENE}.trace.npz", out / f"{SCENE}.beats.json"]
    before = {p: p.stat().st_mtime_ns for p in files}
    again = render(out, *FULL)
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
    line = assert_clean_failure(render_py(*args, "--out", str(tmp_path)), tmp_path, *words)
    if "--layer" in words or "--head" in words:
        assert re.search(r"\b0\b.*\b1\b", line), f"the valid range (0 to 1) is not named: {line}"


def test_unknown_words_stop_the_render(tmp_path):
    """The seed video's sentence: its words are not the model's, so a clip of them would show nonsense. It stops
    with one line naming each unknown word and where to see the vocabulary; --allow-unknown renders <unk> on purpose."""
    from model import VOCAB
    from model.tokenizer import Tokenizer

    known = set(Tokenizer.load(VOCAB).words_of("en"))
    words = "hi how are you".split()
    out = tmp_path / "new"
    r = run_cli("render.py", "--scene", "tokens", "--still", "--quality", "low", "--sentence", " ".join(words),
                "--out", str(out))
    assert_clean_failure(r, None, "python -m model vocab", "--allow-unknown",
                                *(f"'{w}'" for w in words if w not in known))
    assert not out.exists()
    r = run_cli("render.py", "--scene", "tokens", "--still", "--quality", "low", "--sentence", " ".join(words),
                "--allow-unknown", "--out", str(out))
    assert_ok(r)
    assert "<unk>" in Trace.load(out / "tokens.trace.npz").tokens("encoder") and "'hi'" in r.stderr


def test_bad_options_create_no_output_folder(tmp_path):
    """An --out folder that does not exist yet is not created by a command that fails."""
    out = tmp_path / "new"
    for args in (["--layer", "5"], ["--sentence", " "]):
        assert_clean_failure(render_py("--scene", SCENE, "--still", *args, "--out", str(out)), None)
        assert not out.exists(), f"{' '.join(args)}: a failed render created {out}"


def test_out_is_an_existing_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert_clean_failure(render_py("--scene", SCENE, "--still", "--out", str(blocker)), None, str(blocker))
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and blocker.read_text() == "keep me"


# ---------------------------------------------------------------------------
# hostile input
# ---------------------------------------------------------------------------


def test_hostile_long_sentence_names_the_limit(tmp_path):
    line = assert_clean_failure(render_py("--scene", SCENE, "--still", "--sentence", HOSTILE_LONG, "--out", str(tmp_path)),
                                tmp_path, "limit")
    assert "20" in line and PASSWD not in line


@pytest.mark.render
@pytest.mark.parametrize("sentence", HOSTILE_SHORT, ids=["input-x", "input-passwd"])
def test_hostile_sentence_renders_literally(sentence, stills, translator):
    from model.tokenizer import normalize

    assert len(normalize(sentence)) <= 20
    r, out = stills(f"hostile-{HOSTILE_SHORT.index(sentence)}", "--sentence", sentence, "--allow-unknown")
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

    from scenes.kit.components import tex_escape

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
    """A Manim user's own command works too: `manim -ql -s scenes/softmax.py Softmax` (any scene file)."""
    import subprocess
    import sys

    from .conftest import ROOT

    manim = Path(sys.executable).with_name("manim")
    r = subprocess.run(
        [str(manim), "-ql", "-s", "--media_dir", str(tmp_path), str(ROOT / "scenes" / "softmax.py"), "Softmax"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    from PIL import Image

    pngs = list(tmp_path.rglob("Softmax*.png"))
    assert len(pngs) == 1
    assert Image.open(pngs[0]).size == (854, 480)  # the last frame: the stage cleared, as every scene ends
    # Manim's "consider upgrading" notice would lead users to a Manim the slides cannot use
    assert "upgrad" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr


# ---------------------------------------------------------------------------
# posters and beats
# ---------------------------------------------------------------------------


def _frame_at(movie: Path, t: float):
    """The decoded video frame shown at time t, as an RGB array."""
    import av

    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        best = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time <= t + 1e-6:
                best = frame
            else:
                break
        return best.to_ndarray(format="rgb24")


@pytest.mark.render
def test_still_is_the_poster_frame_of_the_video(full_render, stills):
    """--still writes the poster beat's frame at rest (the alignment grid), the very frame the video shows then."""
    from PIL import Image

    r, out = full_render
    assert_ok(r)
    beats = json.loads((out / f"{SCENE}.beats.json").read_text(encoding="utf-8"))
    poster = next(b for b in beats["beats"] if b.get("poster"))
    assert poster["name"] == "alignment"
    rs, still_out = stills("default")
    assert_ok(rs)
    assert "poster frame" in rs.stdout
    still = np.asarray(Image.open(still_out / f"{SCENE}.png").convert("RGB"), dtype=float)
    video = _frame_at(out / f"{SCENE}.mp4", poster["rest"] + 0.1).astype(float)
    assert still.shape == video.shape == (480, 854, 3)
    assert still.std() > 20, "the poster is blank"
    # the same picture, up to video compression
    assert np.abs(still - video).mean() < 4, np.abs(still - video).mean()
    last = _frame_at(out / f"{SCENE}.mp4", 1e9).astype(float)
    assert np.abs(still - last).mean() > 4, "the poster is the last frame, not the poster beat's"


@pytest.mark.render
def test_still_of_another_beat_and_an_unknown_one(tmp_path):
    r = render_here(tmp_path, "--still", "every row", scene=QUICK)
    assert_ok(r)
    assert "frame of beat 'every row'" in r.stdout and (tmp_path / f"{QUICK}.png").is_file()
    bad = tmp_path / "bad"
    line = assert_clean_failure(render_here(bad, "--still", "nope", scene=QUICK), None, "nope", "scores", "one row")
    assert not list(bad.glob("*.png"))


def test_beats_are_listed_with_the_poster():
    r = render_py("--scene", QUICK, "--beats")
    assert_ok(r)
    lines = [line for line in r.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) >= 4
    assert [re.split(r"\s{2,}", line.strip())[0] for line in lines if line.rstrip().endswith("poster")] == ["one row"]


def test_frame_check_from_the_command_line():
    r = render_py("--scene", QUICK, "--check")
    assert_ok(r)
    assert f"{QUICK}: frame check passed" in r.stdout


# ---------------------------------------------------------------------------
# the render cache tells the truth
# ---------------------------------------------------------------------------


def test_render_key_covers_every_input(monkeypatch):
    from reel import clip as rd
    from model.trace import record
    from scenes import scene_class

    cls = scene_class(SCENE)
    a, b = record(), record(sentence="the cat sleeps")
    base = rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("low"))
    variants = [
        rd.render_key(cls, {"translator": b}, {"layer": 1, "head": 1}, rd.Settings("low")),
        rd.render_key(cls, {"translator": a}, {"layer": 0, "head": 1}, rd.Settings("low")),
        rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 0}, rd.Settings("low")),
        rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("medium")),
        rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("low", fps=10)),
        rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("low", still="")),
        rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("low", still="scores")),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # all the drawing code counts, the toolkit's included: change one byte of any source, get a new key
    sources = [p for pattern in rd.KEY_SOURCES for p in rd.ROOT.glob(pattern)]
    assert any("kit" in p.parts for p in sources) and any(p.name == "tracefile.py" for p in sources)
    real = Path.read_bytes
    kit_file = next(p for p in sources if p.name == "components.py")
    monkeypatch.setattr(Path, "read_bytes", lambda self: real(self) + (b" " if self == kit_file else b""))
    assert rd.render_key(cls, {"translator": a}, {"layer": 1, "head": 1}, rd.Settings("low")) != base


@pytest.mark.render
def test_two_sentences_into_one_folder_stay_consistent(tmp_path):
    first, second = "the small dog sleeps", "the red horses eat a big cake"
    for sentence in (first, second, first):
        r = render_here(tmp_path, "--still", "--sentence", sentence, scene=QUICK)
        assert_ok(r)
        assert "rendering" in r.stdout, "a different sentence must render again"
        manifest, trace = check_manifest(tmp_path, QUICK)
        assert trace.sentence == sentence
        beats = json.loads((tmp_path / f"{QUICK}.beats.json").read_text(encoding="utf-8"))
        captions = " ".join(c["text"] for b in beats["beats"] for c in b["captions"])
        assert f"the {len(trace.tokens('encoder'))} words" in captions  # the captions count this sentence's words


@pytest.mark.render
def test_a_failed_render_drops_the_old_key(tmp_path):
    """The old key goes before outputs are replaced: after a failure, the next run renders again."""
    assert_ok(render_here(tmp_path, "--still", scene=QUICK))
    beats = tmp_path / f"{QUICK}.beats.json"
    beats.unlink()
    beats.mkdir()  # a folder where the beats file must go: writing it fails after trace and manifest
    r = render_here(tmp_path, "--still", "--sentence", "the cat sleeps", scene=QUICK)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / f".{QUICK}.render-key").exists()
    beats.rmdir()
    again = render_here(tmp_path, "--still", scene=QUICK)
    assert_ok(again)
    assert "rendering" in again.stdout
    manifest, trace = check_manifest(tmp_path, QUICK)
    assert trace.sentence == DEFAULT_SENTENCE


@pytest.mark.render
def test_two_renders_at_once_on_an_empty_cache(tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen([sys.executable, "render.py", "--scene", QUICK, "--quality", "low", "--still", "--sentence",
                          sentence, "--out", str(tmp_path / f"out{i}")], cwd=ROOT, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i, sentence in enumerate(("the black cat looks at the small fish", "the small dog sees a red apple"))
    ]
    for i, p in enumerate(runs):
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr[-3000:]
        manifest, trace = check_manifest(tmp_path / f"out{i}", QUICK)


@pytest.mark.render
def test_work_folders_of_killed_renders_are_cleaned_up(tmp_path):
    stale = tmp_path / f".{QUICK}.render-999999999-abc"
    stale.mkdir()
    (stale / "partial.mp4").write_bytes(b"half")
    half_written = tmp_path / f".{QUICK}.values.json.render-999999999-xyz.part"
    half_written.write_text('{"scene": ')
    assert_ok(render(tmp_path, "--still", scene=QUICK))
    assert not stale.exists() and not half_written.exists()
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


# ---------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tool, package", [("latex", "texlive-latex-base"), ("dvisvgm", "dvisvgm")])
def test_a_missing_tool_names_its_package(tool, package, tmp_path):
    import shutil
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for other in ("latex", "dvisvgm", "ffmpeg"):
        if other != tool and shutil.which(other):
            (bin_dir / other).symlink_to(shutil.which(other))
    out = tmp_path / "out"
    r = run_cli("render.py", "--scene", QUICK, "--quality", "low", "--still", "--out", str(out),
                env={"PATH": f"{Path(sys.executable).parent}:{bin_dir}"})
    assert_clean_failure(r, None, tool, package)
    assert not out.exists()


@pytest.mark.render
def test_a_full_disk_gives_one_line_and_no_partial_output(tmp_path):
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        r = render(mnt, "--still", scene=QUICK)
        assert r.returncode == 2, (r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in r.stderr, r.stderr
        left = [p.name for p in mnt.iterdir()]
        assert not [n for n in left if n.endswith(".part") or ".render-" in n and not n.endswith("render-key")], left
        for name in left:  # whatever is there is whole: a trace that loads, JSON that parses
            if name.endswith(".npz"):
                Trace.load(mnt / name)
            elif name.endswith(".json"):
                json.loads((mnt / name).read_text())
    finally:
        subprocess.run(["umount", str(mnt)])
