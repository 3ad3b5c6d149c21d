"""`--format` and `--transparent` as a user runs them: the files read back with Pillow and PyAV.

Each command renders once per module, at the lowest quality and 5 frames a second (the
frame counts still follow the clip's length); the mp4's faststart is checked on
tests/test_render.py's one full render and on a synthetic clip here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from reel import formats

from .conftest import render_py, run_cli

SCENE = "softmax"  # any registered scene will do (a short one): nothing here is scene-specific
FPS = 5
VIDEO_LINE = re.compile(r"\((\d+(?:\.\d+)?) s of video\)")


def render(out: Path, *args: str):
    return run_cli("render.py", "--scene", SCENE, "--quality", "low", "--fps", str(FPS), "--out", str(out), *args)


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    done: dict[str, tuple] = {}

    def get(case: str, *args: str):
        if case not in done:
            out = tmp_path_factory.mktemp(case)
            done[case] = (render(out, *args), out)
        return done[case]

    return get


def announced(r) -> float:
    m = VIDEO_LINE.search(r.stdout)
    assert m, r.stdout
    return float(m.group(1))


@pytest.mark.render
def test_gif_has_a_frame_for_every_frame_of_the_clip(renders):
    from PIL import Image

    r, out = renders("gif", "--format", "gif")
    assert_ok(r)
    gif = out / f"{SCENE}.gif"
    assert gif.is_file() and not (out / f"{SCENE}.mp4").exists()
    seconds = announced(r)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.size == (854, 480)
        frames = im.n_frames
        stored = 0  # each frame stores the rectangle that changed since the one before: its area
        for i in range(frames):
            im.seek(i)
            x0, y0, x1, y1 = im.tile[0][1]
            stored += (x1 - x0) * (y1 - y0) / (im.size[0] * im.size[1])
        im.seek(frames // 2)
        middle = np.asarray(im.convert("RGB"))
    # one GIF frame per video frame: the clip's length at 5 fps (an animation rounds to whole frames)
    assert abs(frames - seconds * FPS) <= 0.02 * seconds * FPS + 2, (frames, seconds)
    assert seconds > 20
    durations = json.loads((out / f"{SCENE}.beats.json").read_text(encoding="utf-8"))["duration"]
    assert durations == pytest.approx(seconds, abs=0.1)
    assert middle.std() > 5, "the middle frame is blank"
    # Manim's own GIF re-dithers every frame: each is stored whole (0.999 of the picture), ~20 times the size
    assert stored / frames < 0.8, f"frames store {stored / frames:.2f} of the picture each: the GIF is many times too big"
    # the files beside it are the scene's usual ones
    assert (out / f"{SCENE}.values.json").is_file() and (out / f"{SCENE}.beats.json").is_file()


@pytest.mark.render
def test_transparent_clip_has_an_alpha_channel_that_is_used(renders):
    import av

    r, out = renders("transparent", "--transparent")
    assert_ok(r)
    mov = out / f"{SCENE}.mov"
    assert mov.is_file() and not (out / f"{SCENE}.mp4").exists()
    # frames at rest (each beat's longest pause), where the beat's picture is complete
    rests = [round((b["rest"] + 0.1) * FPS) for b in json.loads((out / f"{SCENE}.beats.json").read_text(
        encoding="utf-8"))["beats"] if b.get("rest") is not None]
    assert len(rests) >= 3
    with av.open(str(mov)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "qtrle"
        assert "a" in stream.codec_context.pix_fmt, stream.codec_context.pix_fmt  # argb
        alphas = [frame.to_ndarray(format="rgba")[..., 3] for i, frame in enumerate(c.decode(stream)) if i in rests]
    assert len(alphas) == len(set(rests))
    for alpha in alphas:
        clear = (alpha == 0).mean()
        solid = (alpha == 255).mean()
        # the background is see-through, what is drawn is not
        assert clear > 0.5, clear
        assert solid > 0.001, solid


@pytest.mark.render
def test_png_format_is_the_poster_frame(renders):
    from PIL import Image

    r, out = renders("png", "--format", "png")
    assert_ok(r)
    assert "poster frame" in r.stdout
    with Image.open(out / f"{SCENE}.png") as im:
        assert im.size == (854, 480)
        assert np.asarray(im.convert("L")).std() > 5


def test_faststart_moves_the_index_in_front(tmp_path):
    """Manim's own mp4 has its index at the end; faststart puts it first and keeps every frame."""
    import av

    src = tmp_path / "late.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=15)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(30):
            img = np.full((48, 64, 3), i * 8, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert formats.top_level_atoms(src).index("mdat") < formats.top_level_atoms(src).index("moov")
    dst = tmp_path / "fast.mp4"
    formats.faststart(src, dst)
    assert formats.is_faststart(dst)
    with av.open(str(dst)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 30
    assert abs(float(frames[-1].mean()) - 29 * 8) < 4


@pytest.mark.parametrize("args, words", [
    (["--format", "gif", "--transparent"], ["--transparent", "GIF"]),
    (["--still", "--format", "gif"], ["--still", "gif"]),
    (["--slides", "html", "--format", "gif"], ["--slides"]),
    (["--slides", "pptx", "--transparent"], ["--slides"]),
    (["--format", "avi"], ["avi"]),
    (["--slides", "pdf"], ["pdf"]),
], ids=["gif-alpha", "still-gif", "slides-format", "slides-alpha", "avi", "pdf"])
def test_impossible_combinations_fail_cleanly(args, words, tmp_path):
    out = tmp_path / "new"
    r = render_py("--scene", SCENE, "--out", str(out), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not out.exists()


def test_suffixes():
    assert [formats.suffix(f) for f in formats.FORMATS] == [".mp4", ".webm", ".gif", ".png"]
    assert formats.suffix("mp4", True) == ".mov" and formats.suffix("webm", True) == ".webm"
    assert formats.suffix("png", True) == ".png"


@pytest.mark.render
def test_transparent_webm_is_vp9_with_alpha(tmp_path):
    """Manim's own writer with our settings, on a tiny scene: VP9 whose frames carry alpha."""
    import av
    from manim import Scene, Square, tempconfig

    class Tiny(Scene):
        def construct(self):
            self.add(Square())
            self.wait(0.4)

    settings = {"quality": "low_quality", "frame_rate": FPS, "media_dir": str(tmp_path), "disable_caching": True,
                "verbosity": "WARNING", "progress_bar": "none", **formats.manim_config("webm", True)}
    with tempconfig(settings):
        scene = Tiny()
        scene.render()
        movie = Path(scene.renderer.file_writer.movie_file_path)
    assert movie.suffix == ".webm" and movie.is_file()
    with av.open(str(movie)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "vp9"
        assert stream.metadata.get("alpha_mode") == "1" or stream.metadata.get("ALPHA_MODE") == "1", stream.metadata
    # decoded with libvpx, which reads the alpha plane: see-through around the square, solid on its edge
    with av.open(str(movie)) as c:
        ctx = av.CodecContext.create("libvpx-vp9", "r")
        frame = next(f for p in c.demux(video=0) for f in ctx.decode(p))
        rgba = frame.to_ndarray(format="rgba")
    assert (rgba[..., 3] == 0).mean() > 0.5
