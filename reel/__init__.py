"""What turns rendered scenes into something to publish. `render.py` dispatches here; scenes know nothing of it.

- `narration.py` — speech engines (flite, espeak-ng) behind one small interface, the
  `Narrator` a scene speaks its captions through, and the speech cache;
- `subtitles.py` — cue texts (at most two lines of about 42 characters), SRT and WebVTT;
- `lecture.py` — `render.py --lecture`: every scene in teaching order, rendered in parallel
  and cached, joined into one video with chapters and subtitles (and with --slides, one deck);
- `listen.py` — intelligibility: speech recognised by PocketSphinx, word error rate;
- `formats.py` — clip formats for slides (mp4 with its index first, webm, gif, png, transparent);
- `slides.py` — decks (HTML, PPTX) whose slides are a scene's beats, built with manim-slides;
  a scene's slides kept apart for the lecture's deck, which joins them.
"""
