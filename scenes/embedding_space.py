"""The embedding space: words as arrows, what lies near what, and how the encoder's context moves them.

Every English word of the vocabulary is a dot: its row of the embedding matrix (times √d_model, as the
encoder reads it) seen along the two principal axes of all the English rows, fitted on W_E itself, with
the share of variance they keep on screen. Nearness is measured in all d_model dimensions (cosine), and
the captions count what gathers (word classes, French genders) from those numbers. Then the sentence's
arrows glide to where positions and the encoder's blocks leave them, projected on the same axes.
Coordinates, cosines, distances and shares are derived values (scenes/kit/derived.py) naming their source.

    python render.py --scene embedding_space --sentence "…"
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Circle, Create, DashedLine, GrowArrow, Transform, VGroup

from model.tokenizer import UNK

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import named, quote, sharpest_head
from scenes.kit.components import MatrixView, formula, label, number, token, wrapped_words
from scenes.kit.derived import cosine, cosine_value, distance, fit_basis, kept_share, projection
from scenes.kit.encoding import entry
from scenes.kit.reveal import Reveal, hide
from scenes.kit.space import (
    CLASSES,
    ONE_OF_CLASS,
    PLURAL_CLASS,
    WordPlane,
    box_of,
    class_legend,
    french_noun,
    backed,
    nearest,
    place_labels,
    placed_group,
    table,
    word_class,
)
from scenes.kit.words import language_ids, vocabulary

K = 5  # neighbours listed
BASIS = "pca-en"
EMBED, INPUT, OUT = "encoder.hook_embed_scaled", "encoder.hook_input", "encoder.hook_out"
W_E = "param.encoder.W_E"

# where things go: the plane on the left, a panel of words and numbers on the right
PLANE_BOX = (-layout.FRAME_WIDTH / 2 + 0.3, -2.62, -0.75, 3.12)  # left, bottom, right, top
PANEL_LEFT = -0.35
PANEL_TOP = 3.1
PANEL_WIDTH = layout.FRAME_WIDTH / 2 - layout.MARGIN - 0.15 - PANEL_LEFT
LABEL_BOUNDS = (-layout.FRAME_WIDTH / 2 + layout.MARGIN + 0.05, PLANE_BOX[1], PANEL_LEFT - 0.25, PLANE_BOX[3])
DIM = 0.3  # the opacity of what is not being talked about
RING = 0.1  # the radius of the ring round a neighbour's dot
GENDER = {"m": "masculine", "f": "feminine"}


def share_phrase(n: int, k: int, kind: str, too: str = "") -> str:
    """How many of k words are of a kind, said as a count: "all 5 are adjectives", "only one is a verb"."""
    if n == k:
        return f"all {k} are {PLURAL_CLASS[kind]}{too}"
    if n == 0:
        return f"none is {ONE_OF_CLASS[kind]}"
    if n == 1:
        return f"only one is {ONE_OF_CLASS[kind]}"
    return f"{'only ' if n <= k / 2 else ''}{n} are {PLURAL_CLASS[kind]}{too}"


def share_line(before: str, kept, after: str) -> VGroup:
    """A line with a share of variance in it: "PC1 · PC2 keep 34 % of …" (`kept`: its derived record)."""
    return VGroup(label(before, 22, palette.TEXT), number(kept, 26, palette.HIGHLIGHT),
                  label(after, 22, palette.TEXT)).arrange(RIGHT, buff=0.12)


class EmbeddingSpace(ReelScene):
    name = "embedding_space"
    summary = "words as arrows in the embedding space: near words, and how the encoder's context moves them"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.one_vector()
        self.the_space()
        self.neighbours()
        self.context()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.words = t.tokens("encoder")
        self.d = t.config["d_model"]
        self.scale = float(np.sqrt(self.d))
        self.vocab = vocabulary(t)
        self.en_ids = language_ids(t, "en")
        english = {self.vocab[i] for i in self.en_ids}
        # the sentence's words (not <eos>; an unknown word as the <unk> row it is read as): each gets an arrow
        self.positions = [p for p, w in enumerate(self.words) if w in english or w == UNK]
        self.basis = fit_basis(BASIS, self.needs[0], t, W_E, self.en_ids, scale=self.scale)
        self.dot_xy = self.basis.project(self.scale * t[W_E][self.en_ids].astype(np.float64))
        # where each arrow points: the word's embedding (as the encoder scales it), + its position, the output
        self.xy = {name: self.basis.project(t[name][self.positions]) for name in (EMBED, INPUT, OUT)}
        self.studies = self.choose_studies()
        self.focus = self.choose_focus()
        self.trails: list = []  # the followed arrows' paths so far (pairs of points): labels keep off them
        self.last = t.config["n_layers"]["encoder"] - 1
        self.attn = f"encoder.blocks.{self.last}.self_attn"
        self.attn_head = sharpest_head(t, self.attn)

    def choose_studies(self) -> list[tuple[int, list[int]]]:
        """The words whose neighbours the scene lists, as (position, the rows it is compared with): a noun of
        the sentence among the vocabulary's nouns (the one whose neighbours agree most on French gender),
        then a word of another kind among all English words (the one whose neighbours share its kind most)."""
        self.nouns = [i for i in self.en_ids if french_noun(self.vocab[i])]
        studies = []
        sentence_nouns = [p for p in self.positions if french_noun(self.words[p])]
        if sentence_nouns and len(self.nouns) > K:
            best = max(sentence_nouns, key=lambda p: (self.gender_agreement(self.row(p)), -p))
            studies.append((best, self.nouns))
        others = [p for p in self.positions if word_class(self.words[p]) not in ("noun", "other")]
        if others or not studies:
            best = max(others or self.positions[:1], key=lambda p: (self.class_agreement(self.row(p)), -p))
            studies.append((best, self.en_ids))
        return studies

    def choose_focus(self) -> list[int]:
        """The positions whose journey the context beat follows: the first two of the sentence's most repeated
        word (one embedding, two places), or else the word the encoder moved furthest (in all dimensions)."""
        counts = Counter(self.words[p] for p in self.positions)
        word, n = max(counts.items(), key=lambda wc: (wc[1], -self.words.index(wc[0])), default=("", 0))
        if n >= 2:
            return [p for p in self.positions if self.words[p] == word][:2]
        t = self.trace
        moved = np.linalg.norm(t[OUT][self.positions].astype(np.float64) - t[EMBED][self.positions], axis=1)
        return [self.positions[int(np.argmax(moved))]]

    def row(self, p: int) -> int:
        """The vocabulary id of the word at position p: its row of W_E."""
        return int(self.trace["encoder.hook_tokens"][p])

    def neighbours_of(self, i: int, candidates: list[int]) -> list[tuple[int, float]]:
        return nearest(self.trace[W_E], i, candidates, K)

    def gender_agreement(self, i: int) -> int:
        """How many of noun i's nearest nouns share its French gender."""
        gender = french_noun(self.vocab[i]).gender
        return sum(french_noun(self.vocab[j]).gender == gender for j, _ in self.neighbours_of(i, self.nouns))

    def class_agreement(self, i: int) -> int:
        """How many of word i's nearest words are of its kind."""
        kind = word_class(self.vocab[i])
        return sum(word_class(self.vocab[j]) == kind for j, _ in self.neighbours_of(i, self.en_ids))

    def index_of(self, p: int) -> int:
        return self.positions.index(p)

    # ------------------------------------------------------------------ beats
    def one_vector(self) -> None:
        with self.beat("a word is a vector"):
            p = self.studies[0][0]
            word = self.words[p]
            self.show_heading("A word is a vector")
            view = self.values(EMBED).select(rows=[p])
            vector = self.fit_folding(
                lambda rows, cols: MatrixView(view, "x", palette.ENCODER, row_labels=[token(word, palette.ENCODER)],
                                              max_cols=cols, where=f"its embedding \u00d7 \u221a{self.d}"),
                1, self.d, center=1.9 * UP)
            lines = VGroup()
            for a in range(2):
                shown = projection(self.basis, self.trace, EMBED, p, a)
                lines.add(VGroup(formula(rf"(x - \bar{{x}}) \cdot u_{{{a + 1}}} =", 40),
                                 number(shown, 36, palette.TEXT)).arrange(RIGHT, buff=0.25))
            lines.arrange(DOWN, buff=0.3, aligned_edge=LEFT).move_to(0.25 * UP)
            note = VGroup(
                VGroup(formula(r"u_1,\ u_2:", 30, palette.MUTED),
                       label(f"the two principal axes of the {len(self.en_ids)} English rows of", 24),
                       formula(r"W_{E}", 30, palette.MUTED)).arrange(RIGHT, buff=0.14),
                VGroup(formula(r"\bar{x}:", 30, palette.MUTED),
                       label("their mean, the average English word", 24)).arrange(RIGHT, buff=0.14),
            ).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
            self.fit(note, center=1.4 * DOWN)
            self.play(Appear(vector), run_time=self.timing.build)
            self.say(f"The encoder reads {quote(word)} as {self.d} numbers: its embedding row, times {self.scale:g}.")
            self.play(Appear(lines), run_time=self.timing.build)
            self.play(Appear(note), run_time=self.timing.fast)
            self.say(f"We can't draw {self.d} dimensions, so we keep two: the directions where English words "
                     "differ most.")
            self.clear_stage()

    def the_space(self) -> None:
        with self.beat("the space"):
            self.show_heading("Every English word, a point")
            box = PLANE_BOX
            everything = np.concatenate([self.dot_xy, *self.xy.values()])
            plane = WordPlane(everything, box[2] - box[0], box[3] - box[1])
            plane.move_to([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 0])
            self.plane = plane
            classes = [word_class(self.vocab[i]) for i in self.en_ids]
            present = [c for c in CLASSES if c in classes]
            dots = plane.dots(self.dot_xy, [palette.WORD_CLASSES[c] for c in classes])
            by_class = {c: VGroup(*(d for d, k in zip(dots, classes) if k == c)) for c in present}
            self.dot_of = dict(zip(self.en_ids, dots))
            self.dots = VGroup(*by_class.values())  # inside the picture, so that animating them keeps it whole
            legend = class_legend(present)
            kept = kept_share(self.basis, self.trace, W_E, self.en_ids)
            share = share_line("PC1 \u00b7 PC2 keep", kept, "% of the variance of the English rows")
            panel = VGroup(legend, share).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
            self.fit(panel, max_width=PANEL_WIDTH)
            panel.move_to([PANEL_LEFT, PANEL_TOP, 0], aligned_edge=UP + LEFT)
            self.panel_bottom = panel.get_bottom()[1]
            self.legend, self.share = legend, share
            self.space = hide(VGroup(plane, self.dots, legend, share))
            self.add(self.space)
            self.play(Reveal(plane), run_time=self.timing.fast)
            for c, item in zip(present, [item for row in legend for item in row]):
                self.play(Reveal(by_class[c]), Reveal(item), run_time=self.timing.fast)
            self.say(f"Each dot is one of the {len(self.en_ids)} English words, coloured by its kind.")
            self.play(Reveal(share), run_time=self.timing.build)
            self.say(f"These two axes keep {kept.shown} percent of how the words differ; the rest is flattened away.")
            # the sentence's words: arrows from the centre (the mean of the English rows)
            self.arrows = [plane.arrow(xy) for xy in self.xy[EMBED]]
            sentence_tokens = [token(w, palette.ENCODER, 26) for w in self.words]
            sentence = wrapped_words(sentence_tokens, PANEL_WIDTH, buff=0.2)
            sentence.move_to([PANEL_LEFT, self.panel_bottom - 0.6, 0], aligned_edge=UP + LEFT)
            self.play(Appear(sentence), *(GrowArrow(a) for a in self.arrows), run_time=self.timing.build)
            first: dict[str, int] = {}
            for k, p in enumerate(self.positions):
                first.setdefault(self.words[p], k)
            self.word_labels = placed_group(self.arrow_labels([(k, w) for w, k in first.items()], EMBED))
            self.play(Appear(self.word_labels), run_time=self.timing.fast)
            self.say("Your sentence's words are arrows from the centre, the average English word.")
            counts = Counter(self.words[p] for p in self.positions)
            repeated = [w for w in first if counts[w] > 1]
            if repeated:
                same = [tok for tok, w in zip(sentence_tokens, self.words) if w == repeated[0]]
                self.play(*(tok.animate.set_color(palette.HIGHLIGHT) for tok in same), run_time=self.timing.fast)
                self.say(f"{quote(repeated[0])} comes {self.times(counts[repeated[0]])}, but one word has one row: "
                         "one arrow.")
            self.play(Vanish(sentence), run_time=self.timing.fast)

    @staticmethod
    def times(n: int) -> str:
        return {2: "twice", 3: "three times"}.get(n, f"{n} times")

    def arrow_labels(self, items: list[tuple[int, str]], stage: str, size: float = 24, color=palette.ENCODER,
                     avoid=()) -> list:
        """Labels at the tips of the sentence's arrows number k at `stage`, placed clear of each other, of the
        arrows, of the axes' names and of `avoid` (boxes)."""
        tips = [self.plane.c2p(xy) for xy in self.xy[stage]]
        origin = self.plane.c2p((0, 0))
        labels = [(backed(token(text, color, size)), tips[k], tips[k] - origin) for k, text in items]
        return place_labels(labels, LABEL_BOUNDS, obstacles=[*map(box_of, self.plane.names), *avoid],
                            segments=[*((origin, tip) for tip in tips), *self.trails], points=tips)

    def neighbours(self) -> None:
        with self.beat("nearest words", poster=True):
            self.study(*self.studies[0], f"Nearest words, measured in all {self.d} dimensions", [self.word_labels])
            for said in self.gender_sentences():
                self.say(said)
        if len(self.studies) > 1:
            with self.beat("words of a kind"):
                self.study(*self.studies[1], "Nearest words, of every kind", [self.table, self.study_marks])

    def study(self, p: int, candidates: list[int], heading: str, clear: list) -> None:
        """One word's nearest words: its arrow picked out, its neighbours' dots ringed and named, and a
        table of their cosines with it (for a noun among nouns, with each one's French)."""
        i, word, k = self.row(p), self.words[p], self.index_of(p)
        near = self.neighbours_of(i, candidates)
        nouns = candidates == self.nouns
        self.turn(*(Vanish(m) for m in clear), self.dots.animate.set_opacity(0.6),
                  *(a.animate.set_opacity(1.0 if self.words[self.positions[j]] == word else DIM)
                    for j, a in enumerate(self.arrows)))
        self.show_heading(heading)
        rings_at = [self.dot_of[j].get_center() for j, _ in near]
        own = self.arrow_labels([(k, word)], EMBED, size=26, color=palette.HIGHLIGHT,
                                avoid=[(x - RING, y - RING, x + RING, y + RING) for x, y, _ in rings_at])
        tip = self.plane.c2p(self.xy[EMBED][k])
        items = [(backed(token(self.vocab[j], self.class_color(j), 22)), self.dot_of[j].get_center(),
                  self.dot_of[j].get_center() - tip) for j, _ in near]
        named_dots = place_labels(items, LABEL_BOUNDS, obstacles=[*map(box_of, self.plane.names),
                                                                  *(box_of(q.label) for q in own if q)],
                                  segments=[(self.plane.c2p((0, 0)), tip)],
                                  points=rings_at, point_clearance=RING)
        rings = VGroup(*(Circle(radius=RING, color=self.class_color(j), stroke_width=3).move_to(self.dot_of[j])
                         for j, _ in near))
        self.study_marks = VGroup(placed_group(own), rings, placed_group(named_dots))
        self.play(Appear(self.study_marks), run_time=self.timing.fast)
        self.table = self.neighbour_table(i, near, nouns)
        self.play(Appear(self.table), run_time=self.timing.build)
        self.say(self.noun_sentence(i, near) if nouns else self.class_sentence(i, near), pause=self.timing.look)

    def class_color(self, j: int):
        return palette.WORD_CLASSES[word_class(self.vocab[j])]

    def neighbour_table(self, i: int, near: list[tuple[int, float]], nouns: bool) -> VGroup:
        word = self.vocab[i]
        # a noun's French, and its gender spelled out (a plural's article, "les", does not show it)
        head = [None, None, label("gender", 20), label("cosine", 20)] if nouns else [None, label("cosine", 20)]
        rows = [head]
        for j, _ in near:
            cells = [token(self.vocab[j], self.class_color(j), 24)]
            if nouns:
                fr = french_noun(self.vocab[j])
                cells += [label(fr.text, 22, palette.DECODER), label(GENDER[fr.gender], 22, palette.DECODER)]
            cells.append(number(cosine(self.needs[0], self.trace, W_E, i, j), 24, palette.TEXT))
            rows.append(cells)
        body = table(rows, right={len(head) - 1})
        title = VGroup(label(f"the {'nouns' if nouns else 'words'} nearest", 24, palette.TEXT),
                       token(word, palette.HIGHLIGHT, 26))
        if nouns:
            fr = french_noun(word)
            title.add(label(f"({fr.text}, {GENDER[fr.gender]})", 22, palette.DECODER))
        title.arrange(RIGHT, buff=0.15)
        block = VGroup(title, body).arrange(DOWN, buff=0.2, aligned_edge=LEFT)
        return block.move_to([PANEL_LEFT, self.panel_bottom - 0.45, 0], aligned_edge=UP + LEFT)

    # ------------------------------------------------------------------ captions computed from the numbers
    def noun_sentence(self, i: int, near: list[tuple[int, float]]) -> str:
        word = self.vocab[i]
        gender, fr = french_noun(word).gender, french_noun(word).singular
        same = sum(french_noun(self.vocab[j]).gender == gender for j, _ in near)
        kind = GENDER[gender]
        if same == len(near):
            return (f"All {len(near)} nouns nearest {quote(word)} are {kind} in French, like {quote(fr)}, "
                    "though nothing in English shows it.")
        if same > len(near) / 2:
            return f"{same} of the {len(near)} nouns nearest {quote(word)} are {kind} in French, like {quote(fr)}."
        if same == 0:
            return (f"None of the {len(near)} nouns nearest {quote(word)} is {kind} in French, like {quote(fr)}: "
                    "here, gender does not gather them.")
        return (f"Only {same} of the {len(near)} nouns nearest {quote(word)} {'is' if same == 1 else 'are'} {kind} "
                f"in French, like {quote(fr)}: here, gender does not gather them.")

    def class_sentence(self, i: int, near: list[tuple[int, float]]) -> str:
        word, k = self.vocab[i], len(near)
        kind = word_class(word)
        kinds = Counter(word_class(self.vocab[j]) for j, _ in near)
        if kind == "other":  # no kind of its own to share: say which kind gathers round it
            most, n = kinds.most_common(1)[0]
            return f"Of the {k} words nearest {quote(word)}, {share_phrase(n, k, most)}."
        same = kinds[kind]
        gather = ": words of a kind gather" if same == k else ""
        return f"Of the {k} words nearest {quote(word)}, {share_phrase(same, k, kind, ' too')}{gather}."

    def gender_sentences(self) -> list[str]:
        """Over every noun of the vocabulary: for how many do most of their nearest nouns share their French gender."""
        agree = sum(self.gender_agreement(i) > K / 2 for i in self.nouns)
        n = len(self.nouns)
        if agree > n / 2:
            said = f"Across the vocabulary, for {agree} of the {n} nouns, most of the nearest share the French gender"
            return [said + (": English learned what French needs." if agree >= 0.75 * n else ".")]
        return [f"Across the vocabulary, only {agree} of the {n} English nouns have mostly nouns of their own "
                "French gender nearest: gender does not gather them."]

    # ------------------------------------------------------------------ context
    def glide(self, start: str, stage: str, opacities: list[float], ks: list[int]) -> VGroup:
        """Every arrow glides from its place at `start` to its place at `stage`, the followed ones (`ks`) in the
        highlight colour, each leaving a dashed trail from tip to tip. Returns the trails."""
        targets = [self.plane.arrow(xy, color=palette.HIGHLIGHT if k in ks else palette.ENCODER).set_opacity(o)
                   for k, (xy, o) in enumerate(zip(self.xy[stage], opacities))]
        ends = [(self.plane.c2p(self.xy[start][k]), self.plane.c2p(self.xy[stage][k])) for k in ks]
        self.trails += ends
        trails = VGroup(*(DashedLine(a, b, color=palette.HIGHLIGHT, stroke_width=2, dash_length=0.06).set_opacity(0.7)
                          for a, b in ends))
        self.play(*(Transform(a, b) for a, b in zip(self.arrows, targets)), *(Create(t) for t in trails),
                  run_time=self.timing.move * 2)
        return trails

    def context(self) -> None:
        with self.beat("context"):
            focus = self.focus
            ks = [self.index_of(p) for p in focus]
            opacities = [1.0 if k in ks else DIM for k in range(len(self.positions))]
            # the classes are not the story here: the legend goes, the dots dim, the share line moves up
            self.turn(Vanish(self.table), Vanish(self.study_marks), self.dots.animate.set_opacity(DIM),
                      self.legend.animate.set_opacity(0),
                      *(a.animate.set_opacity(o).set_color(palette.HIGHLIGHT if k in ks else palette.ENCODER)
                        for k, (a, o) in enumerate(zip(self.arrows, opacities))))
            self.play(self.share.animate.move_to([PANEL_LEFT, PANEL_TOP, 0], aligned_edge=UP + LEFT),
                      run_time=self.timing.fast)
            self.show_heading("Context moves the arrows")
            # how much of the outputs' spread the axes keep (one word alone has no spread to keep)
            kept = kept_share(self.basis, self.trace, OUT, self.positions) if len(self.positions) > 1 else None
            share = share_line("and", kept, "% of the variance of the encoder's outputs") if kept else VGroup()
            self.fit(share, max_width=PANEL_WIDTH)
            share.move_to([PANEL_LEFT, self.share.get_bottom()[1] - 0.15, 0], aligned_edge=UP + LEFT)
            labels = placed_group(self.arrow_labels([(ks[0], self.words[focus[0]])], EMBED, color=palette.HIGHLIGHT))
            # the panel: distances in all dimensions, stage by stage
            title = label(self.distance_title(focus), 24, palette.HIGHLIGHT)
            steps = table([[label(what, 24, palette.TEXT), number(shown, 24, palette.TEXT)]
                           for what, shown in self.distance_rows(focus)], right={1})
            block = VGroup(title, steps).arrange(DOWN, buff=0.2, aligned_edge=LEFT)
            self.fit(block, max_width=PANEL_WIDTH)
            above = share if kept else self.share
            block.move_to([PANEL_LEFT, above.get_bottom()[1] - 0.45, 0], aligned_edge=UP + LEFT)
            self.play(Appear(labels), Appear(title), Appear(steps[0]), run_time=self.timing.fast)
            if len(focus) == 2:
                many = sum(self.words[p] == self.words[focus[0]] for p in self.positions) > 2
                self.say(f"{'The first two' if many else 'Both'} {quote(self.words[focus[0]])} start at one point.",
                         pause=self.timing.fast)
            else:
                which = ", the word the encoder moves furthest" if len(self.positions) > 1 else ""
                self.say(f"Follow {quote(self.words[focus[0]])}{which}.", pause=self.timing.fast)
            for n, (start, stage, say) in enumerate(((EMBED, INPUT, self.position_sentence),
                                                     (INPUT, OUT, self.encoder_sentence)), 1):
                self.play(Vanish(labels), run_time=self.timing.fast)
                self.glide(start, stage, opacities, ks)
                names = [self.focus_name(p) for p in focus]
                labels = placed_group(self.arrow_labels(list(zip(ks, names)), stage, color=palette.HIGHLIGHT))
                self.play(Appear(labels), Appear(steps[n]), run_time=self.timing.fast)
                self.say(say(focus))
            if kept:
                self.play(Appear(share), run_time=self.timing.fast)
                self.say(self.flat_sentence(kept))
            # which words each was drawn toward: the last layer's attention, and the cosines it left
            reads = self.reads_table(focus)
            reads.next_to(block, DOWN, buff=0.4, aligned_edge=LEFT)
            self.play(Appear(reads), run_time=self.timing.build)
            said, moved = self.attention_sentences(focus)
            self.say(said, pause=self.timing.fast)
            self.say(moved, pause=self.timing.look)
            self.clear_stage()

    def focus_name(self, p: int) -> str:
        return f"{self.words[p]} ({p + 1})" if len(self.focus) > 1 else self.words[p]

    def distance_title(self, focus: list[int]) -> str:
        if len(focus) == 2:
            return f"from {self.focus_name(focus[0])} to {self.focus_name(focus[1])}, in all {self.d} dimensions"
        return f"{self.words[focus[0]]}, from its embedding, in all {self.d} dimensions"

    def distance_rows(self, focus: list[int]):
        slot, t = self.needs[0], self.trace
        blocks = f"after {self.last + 1} encoder blocks"
        if len(focus) == 2:
            a, b = focus
            return [("embeddings", distance(slot, t, EMBED, a, b)),
                    ("+ positions", distance(slot, t, INPUT, a, b)),
                    (blocks, distance(slot, t, OUT, a, b))]
        p = focus[0]
        return [("embedding", distance(slot, t, EMBED, p, p)),
                ("+ position", distance(slot, t, EMBED, p, p, other=INPUT)),
                (blocks, distance(slot, t, EMBED, p, p, other=OUT))]

    def position_sentence(self, focus: list[int]) -> str:
        if len(focus) == 2:
            return f"Adding positions sets the two {quote(self.words[focus[0]])} apart."
        return f"Adding its position moves {quote(self.words[focus[0]])} a little."

    def encoder_sentence(self, focus: list[int]) -> str:
        t = self.trace
        blocks = f"{self.last + 1} encoder blocks"
        if len(focus) == 2:
            a, b = focus
            before = np.linalg.norm(t[INPUT][a].astype(np.float64) - t[INPUT][b])
            after = np.linalg.norm(t[OUT][a].astype(np.float64) - t[OUT][b])
            how = ("much further apart" if after > 1.5 * before else "further apart" if after > before
                   else "closer again")
            return f"After {blocks} they lie {how}: each has taken in its own context."
        if len(self.positions) > 1:
            return f"After {blocks}, {quote(self.words[focus[0]])} has moved further than any other word."
        return f"After {blocks}, {quote(self.words[focus[0]])} has moved away from where it started."

    def flat_sentence(self, kept) -> str:
        pct = kept.shown
        if float(pct) < 50:
            return f"These axes keep only {pct} percent of how the outputs differ: most of the move is hidden."
        return f"These axes keep {pct} percent of how the outputs differ."

    def weights(self, p: int) -> np.ndarray:
        """Row p of the last layer's sharpest head: how much p reads each position."""
        return self.trace[f"{self.attn}.hook_pattern"][self.attn_head][p]

    def read_most(self, p: int) -> int:
        """The other position that p gives the most weight to (reading itself draws it toward nothing)."""
        row = self.weights(p).astype(np.float64).copy()
        row[p] = -1.0
        return int(np.argmax(row))

    def drawn(self, p: int) -> tuple[int, float, float]:
        """The position p reads most, and the cosine between the two at the encoder's input and at its output."""
        key = self.read_most(p)
        t = self.trace
        return key, cosine_value(t[INPUT][p], t[INPUT][key]), cosine_value(t[OUT][p], t[OUT][key])

    def reads_table(self, focus: list[int]) -> VGroup:
        pattern = self.values(f"{self.attn}.hook_pattern", self.attn_head)
        slot = self.needs[0]
        rows = [[None, label("weight", 20), label("cosine: input", 20), None, label("output", 20)]]
        for p in focus:
            key = self.read_most(p)
            who = VGroup(token(self.focus_name(p), palette.HIGHLIGHT, 24), label("\u2192", 24),
                         token(self.words[key], palette.ENCODER, 24)).arrange(RIGHT, buff=0.15)
            rows.append([who, entry(pattern, p, key, 2),
                         number(cosine(slot, self.trace, INPUT, p, key), 24, palette.TEXT), label("\u2192", 24),
                         number(cosine(slot, self.trace, OUT, p, key), 24, palette.TEXT)])
        each = "each reads" if len(focus) > 1 else "it reads"
        title = label(f"the other word {each} most: encoder layer {self.last} \u00b7 head {self.attn_head}", 22)
        block = VGroup(title, table(rows, right={1, 2, 4}, buff=0.3)).arrange(DOWN, buff=0.2, aligned_edge=LEFT)
        return self.fit(block, max_width=PANEL_WIDTH)

    def attention_sentences(self, focus: list[int]) -> list[str]:
        """What the last layer's attention says each followed word read, and whether it ended closer to it."""
        drawn = [self.drawn(p) for p in focus]
        tops = [quote(self.words[key]) for key, _, _ in drawn]
        itself = [int(np.argmax(self.weights(p))) == p for p in focus]
        if len(focus) == 2 and tops[0] == tops[1] and not any(itself):
            said = f"In the last layer, both give their most weight to {tops[0]}, in different amounts."
        else:
            reads = [f"{named(self.words, p) if len(focus) == 2 else quote(self.words[p])} reads "
                     + (f"itself the most, then {top}" if own else f"{top} the most")
                     for p, top, own in zip(focus, tops, itself)]
            said = f"In the last layer, {' and '.join(reads)}."
        closer = [after > before for _, before, after in drawn]
        if all(closer):
            return [said, f"{'Each' if len(focus) == 2 else 'It'} ends closer to the word it read than it started."]
        if any(closer):
            return [said, "Only one of them ends closer to the word it read than it started."]
        return [said, "Neither ends closer to the word it read than it started: the move comes from elsewhere."
                if len(focus) == 2 else "It does not end closer to that word than it started."]
