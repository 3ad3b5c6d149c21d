"""What a rendered scene becomes for the tools teachers use: clip formats (`formats.py`) and
slide decks (`slides.py`). `render.py` dispatches here; scenes know nothing of either."""
