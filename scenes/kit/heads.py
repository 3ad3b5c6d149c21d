"""The multi-head beats every attention scene shares: the heads' patterns side by side, then their
outputs concatenated and mixed by W_O into the attention's output.

Any attention works (`encoder.blocks.1.self_attn`, `decoder.blocks.1.cross_attn` …): rows and
columns are labelled by functions `size -> labels` (`lambda s: scene.labels("decoder", s)`), so
each scene keeps its own labels and colours.

    patterns = head_patterns(self, attention, rows, cols, chosen=self.head)
    self.play(Appear(patterns))
    mix_heads(self, attention, rows, palette.ENCODER)        # [Z_0 Z_1] × W_O = out, first row built
    combine_heads(self, attention, rows, cols, self.head, palette.DECODER, mixing="…")  # both, as one beat body
"""

from __future__ import annotations

from typing import Callable

from manim import DOWN, RIGHT, UP, Brace, Create, VGroup

from . import palette
from .animations import Appear, Vanish
from .components import AttentionGrid, MatrixView, Values, WeightBlock, formula, label, without
from .stream import fit_widest

Labels = Callable[[float], list]


def head_patterns(scene, attention: str, rows: Labels, cols: Labels, chosen: int | None = None,
                  numbers: bool = False, cell: float = 0.36, cell_width: float = 0.46, center=None,
                  max_height: float | None = None) -> VGroup:
    """One AttentionGrid per head, side by side, each captioned "head h" (the chosen one highlighted),
    fitted to the stage (folding rows and columns rather than shrinking below the floor).
    Returns a VGroup of (grid, caption) pairs."""
    pattern = scene.trace[f"{attention}.hook_pattern"]
    n_heads, n_rows, n_cols = pattern.shape

    def build(max_rows: int, max_cols: int) -> VGroup:
        grids = VGroup()
        for h in range(n_heads):
            g = AttentionGrid(scene.values(f"{attention}.hook_pattern", h), rows(20), cols(18), cell=cell,
                              cell_width=cell_width, numbers=numbers, max_rows=max_rows, max_cols=max_cols)
            cap = label(f"head {h}", 22, palette.HIGHLIGHT if h == chosen else palette.MUTED)
            grids.add(VGroup(g, cap.next_to(g.squares, DOWN, buff=0.15)))
        return grids.arrange(RIGHT, buff=0.8, aligned_edge=UP)

    kw = _placement(center, max_height)
    return scene.fit_folding(build, n_rows, n_cols, **kw)


def _placement(center, max_height) -> dict:
    kw = {} if center is None else {"center": center}
    return kw if max_height is None else {**kw, "max_height": max_height}


def stacked_w_o(scene, attention: str) -> Values:
    """W_O `[heads, d_head, d_model]` as the one `[heads·d_head, d_model]` matrix that maps the concatenation."""
    w_o = scene.trace.param(f"{attention}.W_O")
    return Values(scene.needs[0], f"param.{attention}.W_O", w_o.reshape(-1, w_o.shape[-1]))


def mix_layout(scene, attention: str, rows: Labels, out_color, center=None, max_height: float | None = None) -> VGroup:
    """[Z_0 Z_1 …] (a brace: concatenated, n × heads·d_head) × W_O = out, fitted; rows lined up.
    Returns VGroup(heads, times, W_O, equals, out) where heads = VGroup(Z_0, …, brace, note)."""
    z = scene.trace[f"{attention}.hook_z"]
    n_heads, n, d_head = z.shape
    d_model = scene.trace[f"{attention}.hook_out"].shape[-1]
    w_o = stacked_w_o(scene, attention)

    def build(max_rows: int, max_cols: int) -> VGroup:
        zs = [MatrixView(scene.values(f"{attention}.hook_z", h), f"Z_{h}", palette.QUERY, max_rows=max_rows,
                         max_cols=min(max_cols, d_head), row_labels=rows(22) if h == 0 else None)
              for h in range(n_heads)]
        out = MatrixView(scene.values(f"{attention}.hook_out"), r"\mathrm{out}", out_color, max_rows=max_rows,
                         max_cols=max_cols)
        heads = VGroup(*zs).arrange(RIGHT, buff=0.08, aligned_edge=UP)
        brace = Brace(VGroup(*(m.brackets for m in zs)), DOWN, color=palette.MUTED)
        note = label(f"concatenated: {n} \u00d7 {n_heads * d_head}", 22)
        heads.add(brace, note.next_to(brace, DOWN, buff=0.1))
        row = VGroup(heads, formula(r"\times", 36), WeightBlock(w_o, "W_O", cell=0.09), formula("=", 36), out)
        row.arrange(RIGHT, buff=0.25)
        out.shift((zs[0].entries.get_top()[1] - out.entries.get_top()[1]) * UP)  # same rows, same height
        return row

    return fit_widest(build, n, max(d_model, d_head), **_placement(center, max_height))


def mix_heads(scene, attention: str, rows: Labels, out_color, center=None, max_height: float | None = None) -> VGroup:
    """Play the mixing: the heads' outputs side by side, then out's first row built from the
    concatenation's first row, then the rest — a matrix product shown as one. Returns the layout."""
    row = mix_layout(scene, attention, rows, out_color, center, max_height)
    heads, times, w_o, equals, out = row
    zs = [m for m in heads if isinstance(m, MatrixView)]
    t = scene.timing
    scene.play(Appear(VGroup(*zs)), run_time=t.build)
    scene.play(Appear(VGroup(*heads[len(zs):])), run_time=t.fast)  # the brace: one row of n_heads·d_head
    scene.play(Appear(VGroup(times, w_o, equals)), run_time=t.fast)
    first = [m.row_box(m.row_ids[0]) for m in zs]
    box_out = out.row_box(out.row_ids[0])
    scene.play(*(Create(b) for b in first), run_time=t.fast)
    cells = out.row_cells(out.row_ids[0])
    scene.play(Appear(VGroup(out.title, out.brackets, cells)), Create(box_out), run_time=t.fast)
    scene.play(Appear(without(out.entries, *cells)), *(Vanish(b) for b in [*first, box_out]), run_time=t.build)
    return row


def combine_heads(scene, attention: str, rows: Labels, cols: Labels, chosen: int, out_color,
                  heading: str = "Every head at once, then mixed",
                  looking: str = "Each head learns its own way of looking.",
                  mixing: str = "Side by side, the heads' outputs are mixed by one more matrix.") -> None:
    """A whole beat's body: heading, the heads' patterns, then their outputs concatenated × W_O = out;
    ends with the stage cleared."""
    n_heads = scene.trace.config["n_heads"]
    concat = r"\ ".join(f"Z_{h}" for h in range(n_heads))
    scene.show_heading(heading, formula(rf"\mathrm{{out}} = [{concat}]\,W_O + b_O", 36))
    grids = head_patterns(scene, attention, rows, cols, chosen, center=0.3 * DOWN)
    scene.play(Appear(grids), run_time=scene.timing.build)
    scene.say(looking, pause=scene.timing.read)
    scene.play(Vanish(grids), run_time=scene.timing.fast)
    mix_heads(scene, attention, rows, out_color, center=0.4 * DOWN)
    scene.say(mixing, pause=scene.timing.look)
    scene.clear_stage()
