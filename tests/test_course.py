"""A course, and the library under the command line: `reel.render_scene`, `reel.lecture` and `reel.course` called
in this process, the same course on a local process pool and on a Dask cluster, and `render.py --course` as a
user runs it.

Speed matters: two short scenes at the lowest quality, 5 frames a second and no voice; the course
of two sentences is rendered once on the local pool and once on a `LocalCluster` of two worker
processes (one thread each), with a worker killed while it renders; the other tests build on
those two folders.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import reel
from model.tracefile import Trace
from reel.courses import POSTER, Entry, index_html, poster_time, slug
from scenes import available

from .browser import Page, page_requests, screenshot
from .conftest import ROOT, interrupt_when, run_cli

SCENES = [n for n in ("tokens", "softmax") if n in available()]  # two short scenes, in teaching order
SETTINGS = dict(scenes=SCENES, quality="low", fps=5, voice="none")
FAST = ["--scenes", ",".join(SCENES), "--quality", "low", "--fps", "5", "--voice", "none"]
# a comment, a blank line, and a sentence given its target (after a tab)
COURSE = "# two sentences\ncats sleep\n\nthe black cat eats the fish\tle chat noir mange le poisson\n"

pytestmark = pytest.mark.render


def course_lines(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, sentence, target) of each sentence of a course file's text, read here independently."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.strip().startswith("#"):
            sentence, _, target = line.partition("\t")
            found.append((number, sentence.strip(), target.strip() or None))
    return found


def folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def course_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("course-file") / "course.txt"
    path.write_text(COURSE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_course(course_file, tmp_path_factory):
    """The course on the local process pool, from Python."""
    out = tmp_path_factory.mktemp("local") / "course"
    log: list[str] = []
    made = reel.course(course_file, out=out, log=log.append, **SETTINGS)
    return made, out, log


@pytest.fixture(scope="module")
def cluster():
    """A Dask cluster of two worker processes with one thread each, for the module."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as local, \
            Client(local, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def cluster_course(course_file, cluster, tmp_path_factory):
    """The same course on the cluster, one worker killed (SIGKILL) while it renders a scene."""
    out = tmp_path_factory.mktemp("cluster") / "course"
    log: list[str] = []
    outcome: dict = {}

    def run():
        try:
            outcome["course"] = reel.course(course_file, out=out, cluster=cluster, log=log.append, **SETTINGS)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome["error"] = e

    pids = cluster.run(os.getpid)
    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        busy = [w for w, tasks in cluster.processing().items() if tasks and w in pids]
        if busy:
            time.sleep(1.5)  # well into its render (a scene takes several seconds here)
            busy = [w for w, tasks in cluster.processing().items() if tasks and w in pids]
            if busy:
                killed = (busy[0], pids[busy[0]], cluster.processing()[busy[0]])
                os.kill(killed[1], signal.SIGKILL)
        time.sleep(0.2)
    thread.join(timeout=600)
    return outcome, out, log, killed


# ----------------------------------------------------------------------------- the library
def test_no_module_of_the_library_or_the_scenes_imports_the_command_line():
    pattern = re.compile(r"^\s*(import render\b|from render\b)", re.M)
    for path in [*(ROOT / "reel").rglob("*.py"), *(ROOT / "scenes").rglob("*.py")]:
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_render_scene_returns_the_paths_it_wrote_and_a_notebook_plays_the_clip(tmp_path):
    clip = reel.render_scene(SCENES[0], sentence="cats sleep", quality="low", fps=5, out=tmp_path / "clips", log=None)
    assert isinstance(clip, reel.Clip) and clip.rendered
    assert clip.video == tmp_path / "clips" / f"{SCENES[0]}.mp4"
    for path in clip.paths:
        assert path.is_file() and path.stat().st_size > 0 and path.parent == tmp_path / "clips", path
    assert str(clip).splitlines() == [str(p) for p in clip.paths]
    trace = Trace.load(next(iter(clip.traces.values())))
    assert trace.sentence == "cats sleep"
    values = json.loads(clip.values.read_text(encoding="utf-8"))
    assert values and json.loads(clip.beats.read_text(encoding="utf-8"))["scene"] == SCENES[0]
    # what a notebook shows: the clip itself, embedded
    shown = clip._repr_html_()
    data = re.search(r'<video[^>]*>\s*<source src="data:video/mp4;base64,([^"]+)"', shown).group(1)
    assert base64.b64decode(data) == clip.video.read_bytes()
    again = reel.render_scene(SCENES[0], sentence="cats sleep", quality="low", fps=5, out=tmp_path / "clips", log=None)
    assert not again.rendered and again.paths == clip.paths


def test_bad_input_from_python_is_the_command_lines_one_line_error(tmp_path):
    for call, words in ((lambda: reel.render_scene("nope", out=tmp_path / "a"), "unknown scene"),
                        (lambda: reel.lecture("cats zorblax", out=tmp_path / "b", **SETTINGS), "zorblax"),
                        (lambda: reel.course(["cats sleep", "dogs zorblax"], out=tmp_path / "c", **SETTINGS),
                         "sentence 2"),
                        (lambda: reel.course("cats sleep", out=tmp_path / "d"), "list of sentences"),
                        (lambda: reel.course(["cats sleep"], out=tmp_path / "e", cluster="nowhere", **SETTINGS),
                         "tcp://")):
        with pytest.raises(reel.InputError) as e:
            call()
        assert words in str(e.value) and "\n" not in str(e.value), e.value
    assert not any(tmp_path.iterdir()), "bad input left files behind"


def test_a_course_from_python_returns_its_lectures(local_course, course_file):
    made, out, log = local_course
    lines = course_lines(course_file.read_text(encoding="utf-8"))
    assert isinstance(made, reel.Course) and made.index == out / "index.html" and made.index.is_file()
    assert len(made.entries) == len(lines) and not made.skipped
    for i, (entry, (number, sentence, target)) in enumerate(zip(made.entries, lines), 1):
        assert entry.folder == f"{i:02d}-{'-'.join(sentence.split())}"  # NN-slug, in course order
        assert entry.where == f"line {number}" and entry.sentence == sentence
        if target:
            assert entry.translation == target
        lecture = entry.lecture
        assert lecture.video == out / entry.folder / "lecture.mp4"
        info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json",
                                          str(lecture.video)], capture_output=True, text=True, check=True).stdout)
        assert len(info["chapters"]) == len(SCENES)
        assert entry.duration == pytest.approx(float(info["format"]["duration"]), abs=0.05)
        for name in SCENES:  # each lecture's scenes are its own, on its own sentence
            assert Trace.load(lecture.scenes / f"{name}.trace.npz").sentence == sentence
    for path in made.paths:
        assert path.is_file(), path
    # progress: lectures done of N, scenes done of M, elapsed and an estimate of what remains
    n, m = len(lines), len(lines) * len(SCENES)
    assert sum(f"[lecture {k} of {n}]" in "\n".join(log) for k in range(1, n + 1)) == n, log
    assert any(line.startswith(f"[scene {m} of {m}]") for line in log), log
    assert any(re.search(r"elapsed \d+:\d\d; about \d+:\d\d left", line) for line in log), log
    # a notebook shows the course: each sentence, its poster embedded
    shown = made._repr_html_()
    assert shown.count("data:image/jpeg;base64,") == len(lines)
    for _, sentence, _ in lines:
        assert sentence in shown


def test_a_lecture_of_the_course_is_a_lecture_and_reel_lecture_finds_it_current(local_course, tmp_path):
    made, out, _ = local_course
    entry = made.entries[0]
    folder = shutil.copytree(out / entry.folder, tmp_path / "lecture")
    lecture = reel.lecture(entry.sentence, out=folder, log=None, **SETTINGS)
    assert isinstance(lecture, reel.Lecture) and not lecture.rendered
    assert lecture.video == folder / "lecture.mp4"
    assert (folder / "lecture.mp4").read_bytes() == entry.lecture.video.read_bytes()
    for path in lecture.paths:
        assert path.exists(), path
    assert base64.b64encode(lecture.video.read_bytes()).decode() in lecture._repr_html_()


def test_the_poster_is_a_frame_of_the_lecture(local_course):
    """poster.jpg is the lecture's frame at the first scene's poster beat (and unlike its first frame)."""
    from PIL import Image

    made, out, _ = local_course
    for entry in made.entries:
        poster = np.asarray(Image.open(entry.poster).convert("L"), dtype=float)

        def frame(at: float) -> np.ndarray:
            raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(entry.lecture.video),
                                  "-frames:v", "1", "-vf", f"scale={poster.shape[1]}:{poster.shape[0]}", "-f",
                                  "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
            return np.frombuffer(raw, dtype=np.uint8).reshape(poster.shape).astype(float)

        same = np.abs(frame(poster_time(entry.lecture.scenes / f"{SCENES[0]}.beats.json")) - poster).mean()
        other = np.abs(frame(0.0) - poster).mean()
        assert same < 1 and other > 3 * same, (entry.folder, same, other)


# ----------------------------------------------------------------------------- on a cluster
def test_the_course_on_a_cluster_with_a_worker_killed_equals_the_local_one(local_course, cluster_course):
    _, local, _ = local_course
    outcome, out, log, killed = cluster_course
    assert "error" not in outcome, (outcome.get("error"), log)
    assert killed is not None, "no worker was seen rendering, so none was killed"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[1], 0)  # it is gone; its job was given to another worker
    assert folders(out) == folders(local)
    for folder in folders(local):
        for name in SCENES:
            mine, theirs = out / folder / "scenes", local / folder / "scenes"
            a, b = Trace.load(mine / f"{name}.trace.npz"), Trace.load(theirs / f"{name}.trace.npz")
            assert a.meta == b.meta and a.arrays.keys() == b.arrays.keys()
            for k in a.arrays:
                np.testing.assert_array_equal(a.arrays[k], b.arrays[k], err_msg=k)
            for kind in ("values", "beats"):
                assert json.loads((mine / f"{name}.{kind}.json").read_text(encoding="utf-8")) == \
                    json.loads((theirs / f"{name}.{kind}.json").read_text(encoding="utf-8")), (folder, name, kind)
            assert (mine / f".{name}.render-key").read_text() == (theirs / f".{name}.render-key").read_text()
            assert (mine / f"{name}.mp4").stat().st_size > 0
        for f in ("lecture.srt", "lecture.chapters.txt", ".lecture-key"):
            assert (out / folder / f).read_text(encoding="utf-8") == (local / folder / f).read_text(encoding="utf-8")
        assert (out / folder / "lecture.mp4").is_file() and (out / folder / POSTER).is_file()
    left = [p for p in out.rglob(".*") if ".render-" in p.name and not p.name.endswith("render-key")]
    assert not left, f"work folders or temporary files left behind: {left}"


def test_an_interrupted_course_resumes_and_an_added_sentence_renders_alone(cluster_course, cluster, tmp_path):
    """On the cluster, from the command line: a sentence added at the top (the others move down a line and a
    number), and a bad line skipped with --keep-going. Ctrl-C once a scene is back keeps it; the next run renders
    only what is missing, and only for the new sentence."""
    _, done, _, _ = cluster_course
    out = shutil.copytree(done, tmp_path / "course")
    before = course_lines(COURSE)
    text = "dogs sleep\n" + COURSE + "the zorblax <b>sleeps</b>\n"
    (tmp_path / "more.txt").write_text(text, encoding="utf-8")
    cmd = ["render.py", "--course", str(tmp_path / "more.txt"), "--cluster", cluster.scheduler.address,
           "--keep-going", "--out", str(out), *FAST]
    # Ctrl-C once the first scene of the new sentence is back
    code, printed, stderr = interrupt_when(cmd, lambda line: line.startswith("[scene "))
    assert code == 130, (code, printed, stderr)
    assert "Traceback" not in stderr and "interrupted" in stderr, stderr
    kept = re.search(r"scenes finished and are kept \(([^)]*)\)", stderr).group(1).split(", ")
    new = "01-dogs-sleep"
    assert kept and all(label.startswith(new + "/") for label in kept), stderr
    left = [q.name for q in out.rglob(".*") if ".render-" in q.name and not q.name.endswith("render-key")]
    assert not left, f"work folders or temporary files left behind: {left}"

    again = run_cli(*cmd)
    assert_ok(again)
    rendered = re.findall(r"^\[scene \d+ of \d+\] (\S+) rendered", again.stdout, re.M)
    assert sorted(rendered + kept) == [f"{new}/{name}" for name in sorted(SCENES)], again.stdout
    # the old sentences moved to their new numbers and were not rendered again
    for number, sentence, _ in before:
        line = number + 1
        assert re.search(rf"^\d\d-{slug(sentence)} \(line {line}\): .*; 0 scenes to render", again.stdout, re.M)
    bad = len(text.splitlines())
    assert f"skipped line {bad}" in again.stdout and "zorblax" in again.stdout
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('<li class="lecture"') == len(before) + 1
    assert "&lt;b&gt;sleeps&lt;/b&gt;" in page and "<b>sleeps" not in page


def test_workers_running_another_version_are_refused(tmp_path, course_file):
    """A worker started from a copy of the project with one scene changed: the course stops before anything is
    written, in one line, exit 2, saying how to fix it."""
    from distributed import LocalCluster

    copy = tmp_path / "project"
    copy.mkdir()
    for part in ("render.py", "reel", "scenes", "model"):
        source = ROOT / part
        (shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__")) if source.is_dir()
         else shutil.copy(source, copy / part))
    (copy / "assets").mkdir()
    for f in (ROOT / "assets").iterdir():
        if f.suffix in (".pt", ".json"):
            shutil.copy(f, copy / "assets" / f.name)
    with open(copy / "scenes" / f"{SCENES[0]}.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0") as empty:
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", empty.scheduler_address,
                                   "--nthreads", "1", "--no-dashboard"], cwd=copy,
                                  env={**os.environ, "PYTHONPATH": str(copy)}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            r = run_cli("render.py", "--course", str(course_file), "--cluster", empty.scheduler_address,
                        "--out", str(tmp_path / "out"), *FAST)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "another version" in r.stderr and "pip install" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the page
def test_the_index_opens_offline_with_one_entry_per_sentence(local_course, course_file, tmp_path):
    made, out, _ = local_course
    lines = course_lines(course_file.read_text(encoding="utf-8"))
    url = made.index.resolve().as_uri()
    png, netlog = tmp_path / "index.png", tmp_path / "index.json"
    screenshot(url, png, netlog, budget_ms=1500)
    assert page_requests(netlog) == [], "the index asked the network for something"
    state = """(() => [...document.querySelectorAll('li.lecture')].map(li => ({
        sentence: li.querySelector('.sentence a').textContent,
        duration: li.querySelector('.duration').textContent,
        poster: li.querySelector('img').complete && li.querySelector('img').naturalWidth,
        links: [...li.querySelectorAll('a')].map(a => a.getAttribute('href'))})))()"""
    with Page(url, tmp_path / "page.json") as page:
        page.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")
        shown = page.evaluate(state)
    assert page_requests(tmp_path / "page.json") == []
    assert [s["sentence"] for s in shown] == [sentence for _, sentence, _ in lines]
    for s, entry in zip(shown, made.entries):
        assert s["poster"] > 0, s  # the poster loaded, from disk
        assert re.fullmatch(r"\d+:\d\d", s["duration"]) and s["duration"] == reel.lectures.clock(entry.duration)
        assert f"{entry.folder}/lecture.mp4" in s["links"]
        for link in s["links"]:  # relative, and each names a file that is there
            assert "://" not in link and not link.startswith("/") and (out / link).is_file(), link


def test_every_user_string_on_the_page_is_escaped(tmp_path):
    from html.parser import HTMLParser

    from reel.lectures import Lecture

    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    lecture = Lecture(tmp_path / "01-x" / "lecture.mp4", tmp_path / "c.txt", tmp_path / "a.srt", tmp_path / "a.vtt",
                      None, tmp_path / "scenes")
    entries = [Entry("01-x", "line 1", hostile, hostile, 61.0, lecture, tmp_path / "01-x" / POSTER)]
    page = index_html(entries, {"line 2": hostile}, tmp_path)

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    parsed = Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and parsed.tags.count("img") == 1, parsed.tags
    assert sum(hostile in t for t in parsed.text) >= 2  # the sentence and its translation, shown as text


# ----------------------------------------------------------------------------- the command line
def command(capsys, *args: str) -> tuple[int, str]:
    """`render.py ARGS`, run in this process (its `main`): (exit code, what it wrote to stderr)."""
    import render

    capsys.readouterr()
    code = render.main(list(args))
    return code, capsys.readouterr().err


def test_a_bad_line_is_named_before_anything_renders(tmp_path, capsys):
    text = "cats sleep\n# fine so far\nthe zorblax sleeps\n"
    bad = next(n for n, s, _ in course_lines(text) if "zorblax" in s)
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    code, err = command(capsys, "--course", str(tmp_path / "c.txt"), "--out", str(tmp_path / "out"), *FAST)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"line {bad}" in err and "zorblax" in err and "--keep-going" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
    for args, words in ((["--course", str(tmp_path / "none.txt")], "no course file"),
                        (["--course", str(tmp_path / "c.txt"), "--sentence", "cats sleep"], "--sentence"),
                        (["--course", str(tmp_path / "c.txt"), "--cluster", "tcp://127.0.0.1:1", "--jobs", "2"],
                         "--jobs"),
                        (["--course", str(tmp_path / "c.txt"), "--cluster", "127.0.0.1:8786"], "tcp://"),
                        (["--scene", SCENES[0], "--keep-going"], "--course")):
        code, err = command(capsys, *args, "--out", str(tmp_path / "out"))
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, (args, err)
    assert not (tmp_path / "out").exists()


def test_without_distributed_cluster_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails, as where it is not installed
    (tmp_path / "c.txt").write_text(COURSE, encoding="utf-8")
    code, err = command(capsys, "--course", str(tmp_path / "c.txt"), "--cluster", "tcp://127.0.0.1:1",
                        "--out", str(tmp_path / "out"), *FAST)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "pip install '.[cluster]'" in err
    assert not (tmp_path / "out").exists()
