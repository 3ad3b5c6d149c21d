"""transformer-reel as a library: scenes, lectures and courses rendered from Python (`render.py` is its
command line). Every number on screen comes from a real forward pass of the project's tiny Transformer.

    import reel
    reel.render_scene("tokens", sentence="cats sleep", quality="low", out="clips")   # → the paths it wrote
    reel.lecture(sentence="the black cat eats the fish", quality="low", out="lecture")
    reel.course(["cats sleep", "the black cat eats the fish"], quality="low", out="course")  # + cluster="tcp://…"

- `api.py` — `render_scene`, `render_scenes`, `check_scenes`: the public functions, and what they return
  (`Clip`, which a notebook shows as the clip itself);
- `clip.py` — one scene's render: traces recorded, options resolved, the render key, files written atomically;
- `lectures.py` — `lecture`: every scene in teaching order, rendered in parallel and cached, joined into one
  video with chapters and subtitles (and with `slides`, one deck);
- `courses.py` — `course`: one lecture per sentence, the scenes of all of them rendered as one batch of jobs,
  and an offline index page;
- `cluster.py` — the same jobs on a Dask cluster: connecting, the workers' version checked, files sent back;
- `narration.py` — speech engines (flite, espeak-ng) behind one small interface, the `Narrator` a scene
  speaks its captions through, and the speech cache;
- `subtitles.py` — cue texts (at most two lines of about 42 characters), SRT and WebVTT;
- `listen.py` — intelligibility: speech recognised by PocketSphinx, word error rate;
- `formats.py` — clip formats for slides (mp4 with its index first, webm, gif, png, transparent);
- `slides.py` — decks (HTML, PPTX) whose slides are a scene's beats, built with manim-slides;
  a scene's slides kept apart for the lecture's deck, which joins them.

Layers read top to bottom: the command line (`render.py`), `reel`, `scenes`, `scenes/kit`, `model`.
Bad input raises `InputError` (one line; the command line prints it and exits with 2).
"""

from model.errors import InputError

from .api import Checked, Clip, check_scenes, render_scene, render_scenes
from .courses import Course, CourseIncomplete, Line, course, read_course
from .lectures import Interrupted, Lecture, RenderFailed, lecture

__all__ = ["render_scene", "render_scenes", "check_scenes", "lecture", "course", "read_course", "Clip", "Checked",
           "Lecture", "Course", "Line", "InputError", "RenderFailed", "CourseIncomplete", "Interrupted"]
