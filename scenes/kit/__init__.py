"""The scene toolkit: everything scenes share, so that a scene file reads as its beats and sentences.

- `layout`     — the frame, the stage, font-size roles, fitting and folding (the readability floor)
- `palette`    — one colour per meaning, numbers coloured by value
- `glyphs`     — fast text (cached glyph outlines), `cache` — the shared caches and their lock
- `components` — `MatrixView`, `AttentionGrid`, `WeightBlock`, token labels for any stack, formulas, captions
- `animations` — fades, moves and cross-fades that never copy
- `choose`     — the sharpest head, an example cell, sentences computed from the numbers
- `options`    — typed scene options (`Layer`, `Head`) checked against the trace
- `base`       — `ReelScene`: traces in; manifest, beats and poster out; the shared beats
- `manifest`, `beats` — the values manifest and beat records of CONTRACT.md
- `framecheck` — the check of every frame (inside the frame, no overlaps, readable, nothing left over)
"""
