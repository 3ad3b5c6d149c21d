"""The map of the lecture: the paper's architecture figure, built from the model's config, with
named parts a scene can point at.

`ArchitectureMap(n_encoder, n_decoder)` draws the encoder stack (left) and the decoder stack
(right) as in *Attention Is All You Need*, figure 1: embeddings and ⊕ positional encoding at
the bottom, each block's sublayers with their add & norm, "N×" beside each block, the encoder's
output running into every decoder layer's cross-attention, linear and softmax on top.

Parts are addressed by name (`PARTS`); `part(name)` gives the mobjects, `focus(name)` the
animations that dim everything else and frame the part. `part_for(name)` accepts a part name
or the name of the scene that explains it (`SCENE_PARTS`), so a lecture can show the map
before a chapter with `--highlight <next scene>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from manim import DOWN, LEFT, RIGHT, UP, Arrow, Circle, Line, RoundedRectangle, SurroundingRectangle, VGroup

from model.errors import InputError

from . import palette
from .animations import Appear
from .components import label
from .glyphs import text_width
from .options import Option

# what each part is, as the map's caption says it ("Next: …")
PARTS: dict[str, str] = {
    "embedding": "the input embedding: words become rows of numbers",
    "positional_encoding": "the positional encoding: where each word stands",
    "attention": "the encoder's multi-head self-attention",
    "add_norm": "add & norm: the residual sum and layer normalisation",
    "feed_forward": "the feed-forward network, applied to every position",
    "encoder": "the whole encoder: the same block, stacked",
    "decoder_input": "the decoder's input: the French so far, shifted right",
    "masked_attention": "the decoder's masked self-attention",
    "cross_attention": "cross-attention: the decoder reads the encoder's output",
    "output": "linear and softmax: a probability for every word",
    "decoder": "the decoder, generating one word at a time",
}

# the part each scene of the catalogue explains (the map shown before it highlights this)
SCENE_PARTS: dict[str, str] = {
    "tokens": "embedding",
    "positional_encoding": "positional_encoding",
    "qkv": "attention",
    "attention_scores": "attention",
    "softmax": "attention",
    "weighted_values": "attention",
    "multi_head": "attention",
    "add_norm": "add_norm",
    "feed_forward": "feed_forward",
    "encoder_stack": "encoder",
    "embedding_space": "embedding",
    "decoder_input": "decoder_input",
    "masked_attention": "masked_attention",
    "cross_attention": "cross_attention",
    "output_softmax": "output",
    "decoding": "decoder",
}


def part_for(name: str) -> str:
    """The part named `name`, or the part explained by the scene named `name`."""
    if name in PARTS:
        return name
    if name in SCENE_PARTS:
        return SCENE_PARTS[name]
    raise InputError(f"--highlight must be a part of the map ({', '.join(PARTS)}) or a scene that explains one")


@dataclass(frozen=True)
class Highlight(Option):
    """The part of the map to point at after showing it (a part name or a scene name); default none."""

    name: str = "highlight"
    help: str = "overview: the part of the map to highlight, or the scene that explains it (e.g. attention, tokens)"

    type = str

    def resolve(self, value, traces, chosen, scene):
        return None if value is None else part_for(str(value))


SUB_H = 0.58  # a sublayer's box
NORM_H = 0.36  # an add & norm strip
GAP = 0.12


def _box(text: str, width: float, height: float, size: float, color=palette.TEXT, stroke=palette.MUTED,
         fill=palette.FAINT) -> VGroup:
    """A rounded box with its name, on two lines where one would not fit."""
    rect = RoundedRectangle(width=width, height=height, corner_radius=0.08, stroke_color=stroke, stroke_width=2)
    rect.set_fill(fill, opacity=0.55)
    words = text.split()
    if text_width(text, size) > width - 0.25 and len(words) > 1:
        cut = max(range(1, len(words)), key=lambda k: -abs(text_width(" ".join(words[:k]), size)
                                                           - text_width(" ".join(words[k:]), size)))
        lines = VGroup(label(" ".join(words[:cut]), size, color), label(" ".join(words[cut:]), size, color))
        lines.arrange(DOWN, buff=0.06)
    else:
        lines = VGroup(label(text, size, color))
    lines.move_to(rect)
    group = VGroup(rect, lines)
    group.rect, group.text = rect, lines  # type: ignore[attr-defined]
    return group


def _up_arrow(start, end, color=palette.MUTED) -> Arrow:
    return Arrow(start, end, buff=0.02, color=color, stroke_width=3, max_tip_length_to_length_ratio=0.3,
                 max_stroke_width_to_length_ratio=20, tip_length=0.14)


class ArchitectureMap(VGroup):
    """The encoder–decoder of the paper, parts named (see `PARTS`)."""

    def __init__(self, n_encoder: int, n_decoder: int, width: float = 2.7, size: float = 20, gap: float = 1.4):
        super().__init__()
        self.parts: dict[str, list] = {name: [] for name in PARTS}
        enc_x, dec_x = 0.0, width + gap

        def column(x: float, sublayers: list[tuple[str, str]], color) -> tuple[VGroup, list[VGroup], RoundedRectangle]:
            boxes: list[VGroup] = []
            y = 0.0
            for kind, text in sublayers:
                h = NORM_H if kind == "add_norm" else SUB_H
                box = _box(text, width - 0.3, h, size * (0.85 if kind == "add_norm" else 1.0),
                           fill=palette.FAINT if kind != "add_norm" else palette.BACKGROUND)
                box.move_to([x, y + h / 2, 0])
                y += h + GAP
                boxes.append(box)
            inner = VGroup(*boxes)
            block = RoundedRectangle(width=width, height=inner.height + 0.34, corner_radius=0.15, stroke_color=color,
                                     stroke_width=3).move_to(inner)
            return VGroup(block, inner), boxes, block

        enc_subs = [("attention", "multi-head attention"), ("add_norm", "add & norm"), ("feed_forward", "feed forward"),
                    ("add_norm", "add & norm")]
        dec_subs = [("masked_attention", "masked multi-head attention"), ("add_norm", "add & norm"),
                    ("cross_attention", "multi-head attention"), ("add_norm", "add & norm"),
                    ("feed_forward", "feed forward"), ("add_norm", "add & norm")]
        enc, enc_boxes, enc_block = column(enc_x, enc_subs, palette.ENCODER)
        dec, dec_boxes, dec_block = column(dec_x, dec_subs, palette.DECODER)
        # the two blocks stand on the same floor
        enc.shift((dec_block.get_bottom()[1] - enc_block.get_bottom()[1]) * UP)
        self.encoder_block, self.decoder_block = enc_block, dec_block
        for (kind, _), box in zip(enc_subs, enc_boxes):
            self.parts[kind].append(box)
        for (kind, _), box in zip(dec_subs, dec_boxes):
            if kind in ("masked_attention", "cross_attention"):
                self.parts[kind].append(box)
        self.parts["encoder"].append(enc_block)
        self.parts["decoder"].append(dec_block)

        n_enc = label(f"{n_encoder}\u00d7", size * 1.3, palette.ENCODER).next_to(enc_block, LEFT, buff=0.15)
        n_dec = label(f"{n_decoder}\u00d7", size * 1.3, palette.DECODER).next_to(dec_block, RIGHT, buff=0.15)
        self.n_labels = VGroup(n_enc, n_dec)

        # below each block: ⊕ positional encoding, then the embedding
        def entrance(block, x: float, name: str, color, pe_side) -> tuple[VGroup, Circle, VGroup]:
            plus = VGroup(Circle(radius=0.16, color=palette.TEXT, stroke_width=2),
                          Line(0.1 * LEFT, 0.1 * RIGHT, color=palette.TEXT, stroke_width=2),
                          Line(0.1 * DOWN, 0.1 * UP, color=palette.TEXT, stroke_width=2))
            plus.move_to([x, block.get_bottom()[1] - 0.45, 0])
            emb = _box(name, width - 0.3, SUB_H, size, stroke=color)
            emb.move_to([x, plus.get_bottom()[1] - 0.35 - emb.height / 2, 0])
            pe = VGroup(label("positional", size * 0.85), label("encoding", size * 0.85)).arrange(DOWN, buff=0.05)
            pe.next_to(plus, pe_side, buff=0.2)
            return emb, plus, pe

        enc_emb, enc_plus, enc_pe = entrance(enc_block, enc_x, "input embedding", palette.ENCODER, RIGHT)
        dec_emb, dec_plus, dec_pe = entrance(dec_block, dec_x, "output embedding", palette.DECODER, RIGHT)
        self.parts["embedding"].append(enc_emb)
        self.parts["positional_encoding"] += [VGroup(enc_plus, enc_pe), VGroup(dec_plus, dec_pe)]
        self.parts["decoder_input"] += [dec_emb]

        # above the decoder: linear, softmax
        linear = _box("linear", width - 0.6, SUB_H * 0.75, size, stroke=palette.DECODER)
        linear.next_to(dec_block, UP, buff=0.35)
        soft = _box("softmax", width - 0.6, SUB_H * 0.75, size, stroke=palette.DECODER)
        soft.next_to(linear, UP, buff=0.25)
        self.parts["output"] += [linear, soft]

        arrows = VGroup(
            _up_arrow(enc_emb.get_top(), enc_plus.get_bottom()),
            _up_arrow(enc_plus.get_top(), enc_block.get_bottom()),
            _up_arrow(dec_emb.get_top(), dec_plus.get_bottom()),
            _up_arrow(dec_plus.get_top(), dec_block.get_bottom()),
            _up_arrow(dec_block.get_top(), linear.get_bottom()),
            _up_arrow(linear.get_top(), soft.get_bottom()),
        )
        # the encoder's output (the memory) runs into the decoder's cross-attention
        cross = dec_boxes[2]
        top = enc_block.get_top() + 0.3 * UP
        mid_x = (enc_block.get_right()[0] + dec_block.get_left()[0]) / 2
        memory = VGroup(
            Line(enc_block.get_top(), top, color=palette.ENCODER, stroke_width=4),
            Line(top, [mid_x, top[1], 0], color=palette.ENCODER, stroke_width=4),
            Line([mid_x, top[1], 0], [mid_x, cross.get_center()[1], 0], color=palette.ENCODER, stroke_width=4),
            Arrow([mid_x, cross.get_center()[1], 0], cross.get_left(), buff=0.0, color=palette.ENCODER, stroke_width=4,
                  max_tip_length_to_length_ratio=0.5, tip_length=0.16),
        )
        self.memory = memory
        self.parts["cross_attention"].append(memory)
        self.arrows = arrows

        self.encoder = VGroup(enc, enc_emb, enc_plus, enc_pe, n_enc, arrows[0], arrows[1])
        self.decoder = VGroup(dec, dec_emb, dec_plus, dec_pe, n_dec, linear, soft, *arrows[2:])
        self.add(self.encoder, self.decoder, memory)
        # where the data enters and leaves
        self.linear, self.softmax = linear, soft
        self.encoder_entry = enc_emb
        self.decoder_entry = dec_emb
        # where embedding + position (what the block reads) flows: between ⊕ and the block
        self.encoder_input_point = (enc_plus.get_top() + enc_block.get_bottom()) / 2

    def part(self, name: str) -> VGroup:
        return VGroup(*self.parts[part_for(name)])

    def focus(self, name: str, dim: float = 0.3) -> tuple[list, VGroup]:
        """Animations that dim the rest of the map, and the frames drawn round the part (to fade in)."""
        from .animations import _Opacity

        chosen = self.part(name)
        keep = {id(m) for m in chosen.get_family()}
        rest = [m for m in self.get_family() if m.has_points() and id(m) not in keep]

        class Dim(_Opacity):
            start, end = 1.0, dim

        # every piece is framed but the memory's path, which simply stays bright
        frames = VGroup(*(SurroundingRectangle(m, color=palette.HIGHLIGHT, buff=0.06, stroke_width=4, corner_radius=0.1)
                          for m in chosen if m is not self.memory))
        return [Dim(VGroup(*rest)), Appear(frames)], frames
