"""Coreference: which noun does "it" mean, and where in the model is that decided?

Two sentences that differ in one word, the adjective: "the duck does not push the table because it is too
heavy" (it: the table, "elle") and its twin "… too tired" (it: the duck, "il"), one trace each. For each the
scene shows the encoder's self-attention row of "it" in the head chosen by a rule that never looks at the
answer (`model.coref.choose_head`: where that row moves most between the two sentences), the decoder's
probabilities where it writes the pronoun, and that row's cross-attention. Every caption about them is
computed from the numbers: which noun "it" weighs most, whether that is the noun it means, whether the
pronoun written agrees with it. On the shipped model, attention does not find the noun (README); the
captions say so because the numbers do, and would say otherwise for a model whose attention does.

How each trace comes from the user's sentence (`model_input`): `sentence` is the user's sentence where it
has the construction ("… because it/they is/are too ADJ", `model.coref.find`), else the default pair's
(`COREFERENCE_SENTENCE`); `twin` is its twin (`model.coref.twin`: the adjective swapped for its partner of
the other kind), read with the model's own translation; `translator` is the user's sentence as every other
scene reads it (shared with them in a lecture): the scene reads only its words, to say when it had no
"because it" and the default pair stands in.

    python render.py --scene coreference --sentence "the rabbit does not take the bottle because it is too big"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, Line, SurroundingRectangle, VGroup

from model.coref import (COREFERENCE_SENTENCE, Noun, choose_head, choose_head_in_traces, find, offset,
                         pronoun_gender, pronoun_row, pronoun_rows, strongest_noun, trace_patterns, twin)
from model.coref import Coreference as Construction  # (the scene's own class is Coreference)
from model.corpus import COREFERENCE_ADJECTIVES, PRONOUNS
from model.words import french_gender
from scenes.kit import layout, palette
from scenes.kit.animations import Appear
from scenes.kit.base import ReelScene
from scenes.kit.choose import moving_head, quote
from scenes.kit.components import AttentionGrid, caption_fits, label, plain_text, token, words_row, wrapped_words
from scenes.kit.encoding import LabelledNumbers, entry, fold_keeping
from scenes.kit.glyphs import baseline, set_baseline
from scenes.kit.options import Head, Layer
from scenes.kit.vocab import ProbBars, vocabulary

FRENCH_PRONOUNS = tuple(PRONOUNS["fr"].values())  # il, elle, ils, elles
GENDER = {"m": "masculine", "f": "feminine"}
LITTLE = 0.05  # a weight below this is "almost nothing"
STILL = 0.05  # a row none of whose weights moves by this much between the two sentences "hardly moves"
READS = 0.1  # a cross-attention row "reads" a word it gives at least this much


# ----------------------------------------------------------------------------- reading the two traces
@dataclass(frozen=True)
class Side:
    """One sentence of the pair, as its trace has it."""

    trace: object
    c: Construction
    it_row: np.ndarray  # the encoder's self-attention row of the pronoun, in the chosen layer and head
    row: int | None  # the decoder row that writes the pronoun (None: the French has no "parce qu'")
    vocab: list[str]

    @classmethod
    def read(cls, trace, layer: int, head: int) -> "Side":
        c = find(trace.sentence)
        if c is None:
            raise ValueError(f"'{trace.sentence}' has no 'because it is too …'")
        shift = offset(trace.tokens("encoder"))
        it_row = trace[f"encoder.blocks.{layer}.self_attn.hook_pattern"][head, c.pronoun + shift]
        return cls(trace, c, it_row, pronoun_row(trace.tokens("decoder")), vocabulary(trace))

    # the sentence
    @property
    def shift(self) -> int:
        return offset(self.trace.tokens("encoder"))

    @property
    def keys(self) -> list[str]:
        return self.trace.tokens("encoder")

    @property
    def adjective(self) -> str:
        return self.c.words[self.c.adjective]

    @property
    def it(self) -> str:
        return self.c.words[self.c.pronoun]

    @property
    def referent(self) -> Noun | None:
        return self.c.referent

    @property
    def candidates(self) -> tuple[Noun, Noun]:
        return self.c.subject, self.c.object

    # where "it" looks
    def strongest(self, row: np.ndarray) -> int:
        """The noun (its word index) a row over the English words weighs most, of all the sentence's nouns."""
        return strongest_noun(row, self.c, self.shift)

    @property
    def pick(self) -> int:
        """The noun the row of "it" weighs most."""
        return self.strongest(self.it_row)

    @property
    def lands(self) -> bool | None:
        """Whether that is the noun "it" means (None where the rule cannot tell)."""
        return None if self.referent is None else self.pick == self.referent.index

    @property
    def top(self) -> str:
        return self.keys[int(np.argmax(self.it_row))]

    @property
    def noun_share(self) -> float:
        return float(sum(self.it_row[n.index + self.shift] for n in self.candidates))

    # what the decoder writes
    @property
    def probs(self) -> np.ndarray | None:
        return None if self.row is None else self.trace["unembed.hook_probs"][self.row]

    @property
    def written(self) -> str | None:
        """The most probable word of the row that writes the pronoun: what the model writes there."""
        return None if self.row is None else self.vocab[int(np.argmax(self.probs))]

    def fits(self, pronoun: str | None) -> list[Noun]:
        """The candidates a French pronoun can stand for (its gender and number)."""
        return [n for n in self.candidates if n.pronoun == pronoun]

    @property
    def right(self) -> bool | None:
        if self.referent is None or self.written is None:
            return None
        return self.written == self.referent.pronoun

    def picked_gender(self) -> str | None:
        """The French gender of the noun the row of "it" weighs most."""
        return french_gender(self.c.words[self.pick])


class Pair:
    """The sentence and its twin, read in the encoder's chosen layer and head, and in the cross-attention
    head whose pronoun row moves most between them (`moving_head`)."""

    def __init__(self, sentence, twin_trace, layer: int, head: int):
        self.a, self.b = Side.read(sentence, layer, head), Side.read(twin_trace, layer, head)
        self.layer, self.head = layer, head
        self.cross = None
        if self.a.row is not None and self.b.row is not None:
            n = sentence.config["n_layers"]["decoder"]
            rows = [np.stack([s.trace[f"decoder.blocks.{i}.cross_attn.hook_pattern"][:, s.row] for i in range(n)])
                    for s in (self.a, self.b)]
            self.cross = moving_head(*rows)

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.a, self.b

    def cross_row(self, s: Side) -> np.ndarray:
        layer, head = self.cross
        return s.trace[f"decoder.blocks.{layer}.cross_attn.hook_pattern"][head, s.row]


def q(word: str) -> str:
    return quote(word)


def _with(s: Side) -> str:
    return f"with {q(s.adjective)}"


def _right_or_wrong(pair: Pair, verdicts: tuple) -> str:
    """'right both times' / 'wrong both times' / 'right with “heavy”, wrong with “tired”', from two verdicts."""
    a, b = pair.sides
    if verdicts[0] is None or verdicts[1] is None:
        unknown = [s for s, v in zip(pair.sides, verdicts) if v is None]
        return f"the rule cannot tell which noun {q(unknown[0].it)} means {_with(unknown[0])}"
    if verdicts[0] == verdicts[1]:
        return f"{'right' if verdicts[0] else 'wrong'} both times"
    good, bad = (a, b) if verdicts[0] else (b, a)
    return f"right {_with(good)}, wrong {_with(bad)}"


def rule_sentence() -> str:
    """The grammar's rule, from its own lists: which adjectives fit animals, which fit things."""
    def listed(words) -> str:
        return ", ".join(words[:-1]) + f" or {words[-1]}"

    return (f"An animal can be {listed(COREFERENCE_ADJECTIVES['animal'])}; a thing, "
            f"{listed(COREFERENCE_ADJECTIVES['thing'])}: the adjective decides which noun is meant.")


def means_sentence(pair: Pair) -> str:
    """What the rule says "it" means in each sentence."""
    parts = []
    for s, it in zip(pair.sides, (q(pair.a.it), "it")):
        r = s.referent
        parts.append(f"{_with(s)}, {it} means {q(r.word)}" if r is not None
                     else f"{_with(s)}, nothing tells which noun {it} means")
    return f"The two sentences differ in one word: {parts[0]}; {parts[1]}."


def translation_sentence(pair: Pair) -> str:
    """Whether the model's pronoun in each translation stands for the noun "it" means."""
    a, b = pair.sides
    if a.right and b.right:
        return (f"The model gets both right: {q(a.written)} for {q(a.referent.word)}, "
                f"{q(b.written)} for {q(b.referent.word)}.")

    def part(s: Side) -> str:
        if s.written is None:
            return f"no pronoun {_with(s)}"
        fits = s.fits(s.written)
        what = (f", for {q(fits[0].word)}" if len(fits) == 1
                else ", which fits neither noun" if not fits else ", which fits both nouns")
        verdict = "" if s.right is None else (": right" if s.right else ": wrong")
        return f"{q(s.written)} {_with(s)}{what}{verdict}"

    return f"The model writes {part(a)}; {part(b)}."


def head_sentence(pair: Pair) -> str:
    return (f"This head is where the row of {q(pair.a.it)} shifts most between the two sentences: a rule that "
            "never looks at the answer.")


def noun_sentence(pair: Pair, rows: tuple[np.ndarray, np.ndarray], who: str) -> str:
    """Which noun a row over the English words (one per sentence) weighs most, and whether it is the one meant."""
    a, b = pair.sides
    picks = [s.strongest(row) for s, row in zip(pair.sides, rows)]
    verdict = _right_or_wrong(pair, tuple(None if s.referent is None else p == s.referent.index
                                          for s, p in zip(pair.sides, picks)))

    def weighs(s: Side, pick: int) -> str:
        others = [i for i in s.c.nouns if i != pick]
        if len(others) == 1:
            return f"{q(s.c.words[pick])} more than {q(s.c.words[others[0]])}"
        return f"{q(s.c.words[pick])} most among the nouns"

    if picks[0] == picks[1]:
        return f"In both sentences, {who} weighs {weighs(a, picks[0])}: {verdict}."
    return (f"{_with(a).capitalize()}, {who} weighs {weighs(a, picks[0])}; {_with(b)}, {weighs(b, picks[1])}: "
            f"{verdict}.")


def attention_sentence(pair: Pair) -> str:
    return noun_sentence(pair, (pair.a.it_row, pair.b.it_row), q(pair.a.it))


def share_sentence(pair: Pair) -> str:
    """Where the rest of the row goes: the word it weighs most, and how little the two nouns get."""
    a, b = pair.sides
    share = max(a.noun_share, b.noun_share)
    part = ("less than a tenth" if share < 0.1 else "less than a quarter" if share < 0.25
            else "less than half" if share < 0.5 else "more than half")
    where = f"{q(a.top)} in both" if a.top == b.top else f"{q(a.top)}, then {q(b.top)} in the other"
    return f"The row's largest weight is on {where}; the two nouns together get {part} of it."


def change_sentence(pair: Pair) -> str:
    """How much the row of "it" moves when the adjective is swapped, and its weights on the nouns."""
    a, b = pair.sides
    moved = np.abs(a.it_row - b.it_row)
    swap = f"Swapping {q(a.adjective)} for {q(b.adjective)}"
    if moved.max() < STILL:
        return f"{swap} hardly moves this row: it reads both sentences almost alike."
    most = int(moved.argmax())
    where = "the adjective itself" if most == a.c.adjective + a.shift else q(a.keys[most])
    nouns = max(moved[i + a.shift] for i in a.c.nouns)
    tail = "its weights on the nouns hardly move" if nouns < STILL else "its weights on the nouns move too"
    return f"{swap} moves this row most at {where}; {tail}."


def pronoun_sentence(pair: Pair) -> str:
    """The pronoun written after each adjective, and the gender it carries."""
    parts = []
    for s, writes in zip(pair.sides, (" the decoder writes", ",")):
        if s.written is None:
            parts.append(f"{_with(s)} there is no pronoun to write")
        elif pronoun_gender(s.written) is None:
            parts.append(f"{_with(s)} its most probable word is {q(s.written)}, not a pronoun")
        else:
            fits = s.fits(s.written)
            like = f" like {q(fits[0].word)}" if len(fits) == 1 else ""
            parts.append(f"{_with(s)}{writes} {q(s.written)}, {GENDER[pronoun_gender(s.written)]}{like}")
    return f"{parts[0][0].upper()}{parts[0][1:]}; {parts[1]}."


def agreement_sentence(pair: Pair) -> str:
    """Whether each pronoun has the gender of the noun the row of "it" weighed most."""
    a, b = pair.sides
    agree = tuple(None if pronoun_gender(s.written) is None else pronoun_gender(s.written) == s.picked_gender()
                  for s in pair.sides)
    if None in agree:
        return f"Where there is no pronoun, there is nothing to compare with where {q(a.it)} looked."
    if agree[0] and agree[1]:
        return f"Both pronouns have the gender of the noun {q(a.it)} weighed most."
    if not agree[0] and not agree[1]:
        return f"Neither pronoun has the gender of the noun {q(a.it)} weighed most."
    good, bad = (a, b) if agree[0] else (b, a)
    return (f"{_with(good).capitalize()} the pronoun has the gender of {q(good.c.words[good.pick])}, the noun "
            f"{q(a.it)} weighed most; {_with(bad)} it does not.")


def cross_sentence(pair: Pair) -> str:
    """The English words the pronoun's row reads most, in each sentence."""
    a, b = pair.sides

    def two(s: Side) -> list[str]:
        order = np.argsort(-pair.cross_row(s), kind="stable")[:2]
        return [s.keys[int(i)] for i in order]

    ta, tb = two(a), two(b)
    first = f"{q(ta[0])} and {q(ta[1])}"
    if ta == tb:
        return f"Writing the pronoun, the decoder reads {first} most, in both sentences."
    return f"Writing the pronoun, the decoder reads {first} most; in the other sentence, {q(tb[0])} and {q(tb[1])}."


def cross_reads_nouns(pair: Pair) -> bool:
    """Whether the pronoun's cross-attention row gives a noun a real share in either sentence."""
    return max(float(pair.cross_row(s)[i + s.shift]) for s in pair.sides for i in s.c.nouns) >= READS


def flow_sentence(pair: Pair) -> str:
    """Whether the one word that differs reaches the pronoun's row through cross-attention, and the nouns;
    where the row does read a noun, `noun_sentence` on it says which (see `cross_reads_nouns`)."""
    a, b = pair.sides
    adjective = [float(pair.cross_row(s)[s.c.adjective + s.shift]) for s in pair.sides]
    nouns = max(float(pair.cross_row(s)[i + s.shift]) for s in pair.sides for i in s.c.nouns)
    if min(adjective) >= READS:
        head = "The adjective, the one word that differs, reaches the pronoun here"
    elif max(adjective) < READS:
        head = "The adjective, the one word that differs, gets little of this row"
    else:
        more, less = (a, b) if adjective[0] >= adjective[1] else (b, a)
        head = f"The adjective reaches this row {_with(more)}, hardly {_with(less)}"
    tail = "; the two nouns get almost nothing." if nouns < LITTLE else "."
    return head + tail


def verdict_sentence(pair: Pair) -> str:
    """Whether the choice of the noun is made by the attention of "it", from both verdicts."""
    a, b = pair.sides
    lands, right = (a.lands, b.lands), (a.right, b.right)
    it = q(a.it[0].upper() + a.it[1:])
    if None in lands or None in right:
        return "Where the rule cannot tell the noun, or there is no pronoun, there is no verdict to give."
    if all(right) and all(lands):
        return (f"Here attention does find the noun: in both sentences {q(a.it)} weighs the noun it means most, "
                "and the pronoun follows it.")
    if all(right):
        if np.abs(a.it_row - b.it_row).max() < STILL:
            return (f"Where {q(a.it)} looks hardly changes, yet both pronouns are right: it is not this attention "
                    "that picks the noun.")
        where = "in both sentences" if not any(lands) else _with(a if not lands[0] else b)
        return (f"{it} did not weigh the noun it means most {where}, yet both pronouns are right: it is not this "
                "attention that picks the noun.")
    wrong = [s for s, r in zip(pair.sides, right) if not r]
    s = wrong[0]
    found = "though" if s.lands else "and"
    looked = "it weighed the right noun" if s.lands else f"{q(s.it)} weighed the wrong noun too"
    more = " and " + _with(wrong[1]) if len(wrong) > 1 else ""
    return f"{_with(s).capitalize()}{more} the pronoun is wrong, {found} {looked}."


def flow_summary(pair: Pair) -> str:
    """Where the information flows: with the same French before the pronoun, the decoder's only way to the
    one English word that differs is cross-attention (its keys and values are the encoder's output)."""
    a, b = pair.sides
    if a.row is None or b.row is None:
        return "Without the pronoun's place in both translations, there is no flow to follow."
    if a.trace.tokens("decoder")[: a.row + 1] == b.trace.tokens("decoder")[: b.row + 1]:
        if a.written == b.written:
            return ("The French before the pronoun is the same in both, and here the adjective that differs "
                    "does not change the pronoun.")
        return ("Up to the pronoun the French is the same, so the difference comes in through cross-attention; "
                "the layers after it make that a gender.")
    return ("The French before the pronoun differs too: the decoder sees the difference in its own words as well "
            "as through cross-attention.")


# ----------------------------------------------------------------------------- the options' rule
def _encoder_layer(traces: dict, chosen: dict) -> int:
    return choose_head_in_traces(traces["sentence"], traces["twin"])[0]


def _encoder_head(traces: dict, chosen: dict) -> int:
    """The head of the chosen layer by the same rule (the user may have chosen the layer)."""
    s, t = traces["sentence"], traces["twin"]
    c, shift, layer = find(s.sentence), offset(s.tokens("encoder")), chosen["layer"]
    rows = [pronoun_rows(trace_patterns(x, "encoder")[layer : layer + 1], c, shift) for x in (s, t)]
    return choose_head(*rows, c, shift)[1]


# ----------------------------------------------------------------------------- the scene
class Coreference(ReelScene):
    name = "coreference"
    summary = "which noun \u201cit\u201d means: a sentence and its twin, the row of \u201cit\u201d, the pronoun written"
    needs = ("sentence", "twin", "translator")
    options = (
        Layer(stack="encoder", model="sentence", default=_encoder_layer,
              help="encoder layer of the row of 'it', from 0 (default: where it moves most between the two sentences)"),
        Head(attention="encoder.blocks.{layer}.self_attn", model="sentence", default=_encoder_head,
             help="attention head of the row of 'it', from 0 (default: where it moves most between the two sentences)"),
    )

    @classmethod
    def model_input(cls, slot: str, sentence: str | None, target: str | None) -> dict:
        if slot == "translator":  # the user's sentence as every scene reads it
            return {"sentence": sentence, "target": target}
        found = sentence is not None and find(sentence) is not None
        first = sentence if found else COREFERENCE_SENTENCE
        if slot == "sentence":
            return {"name": "translator", "sentence": first, "target": target if found else None}
        return {"name": "translator", "sentence": twin(first), "target": None}

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.introduce()
        self.where_it_looks()
        self.the_pronoun()
        self.what_it_reads()
        self.verdict()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        self.pair = Pair(self.traces["sentence"], self.traces["twin"], self.layer, self.head)
        self.slots = {id(self.pair.a): "sentence", id(self.pair.b): "twin"}
        self.asked = self.traces["translator"].sentence

    def slot(self, s: Side) -> str:
        return self.slots[id(s)]

    def english(self, s: Side, size: float = 30) -> VGroup:
        """The sentence's words, its adjective highlighted."""
        words = [token(w, palette.HIGHLIGHT if i == s.c.adjective else palette.ENCODER, size)
                 for i, w in enumerate(s.c.words)]
        return wrapped_words(words, layout.SAFE_WIDTH, buff=0.22, line_buff=0.15)

    def tag(self, s: Side, size: float = 22) -> VGroup:
        """'… too heavy': which of the two a picture is about."""
        return words_row([label("\u2026 too", size), token(s.adjective, palette.HIGHLIGHT, size)], buff=0.12)

    def key_labels(self, s: Side, size: float = 20) -> list[VGroup]:
        return [token(w, palette.HIGHLIGHT if i == s.c.adjective + s.shift else palette.ENCODER, size)
                for i, w in enumerate(s.keys)]

    def kept(self, s: Side, row: np.ndarray) -> list[int]:
        """The columns a folded row keeps: the nouns, the pronoun, the adjective and the row's largest."""
        c = s.c
        return sorted({i + s.shift for i in (*c.nouns, c.pronoun, c.adjective)} | {int(np.argmax(row))})

    def one_row(self, s: Side, tensor: str, head: int, row: int, row_label: VGroup, cols: int) -> AttentionGrid:
        """One attention row of one sentence over its English words, folded around the words that matter."""
        values = self.values(tensor, head, model=self.slot(s)).select(rows=[row])
        return AttentionGrid(values, [row_label], self.key_labels(s), cell=0.56, cell_width=0.86, font_size=18,
                             col_ids=fold_keeping(len(s.keys), cols, self.kept(s, values.data[0])))

    # ------------------------------------------------------------------ beats
    def introduce(self) -> None:
        with self.beat("pair"):
            title = plain_text("Which noun does \u201cit\u201d mean?", 56, palette.TEXT).to_edge(UP, buff=0.5)
            sub = label("a sentence and its twin, one word apart  \u00b7  every number computed by the model", 24)
            sub.next_to(title, DOWN, buff=0.2)
            blocks = VGroup()
            for s in self.pair.sides:
                french = [token(w, palette.HIGHLIGHT if s.row is not None and i == s.row + 1 else palette.DECODER, 28)
                          for i, w in enumerate(s.trace.tokens("decoder")[1:], start=1)]
                fr = wrapped_words(french, layout.SAFE_WIDTH, buff=0.2, line_buff=0.15)
                blocks.add(VGroup(self.english(s), fr).arrange(DOWN, buff=0.3, aligned_edge=LEFT))
            blocks.arrange(DOWN, buff=0.75, aligned_edge=LEFT)
            self.fit(blocks, 0.25 * DOWN, max_height=4.0)
            self.play(Appear(VGroup(title, sub)), run_time=self.timing.build)
            if find(self.asked) is None:
                told = f"The sentence we follow, {q(self.asked)}, has no {q('because it')}: "
                if not caption_fits(told + "so here is a pair of sentences that has one."):  # long: not quoted
                    told = f"The sentence we follow has no {q('because it')}: "
                self.say(told + "so here is a pair of sentences that has one.", pause=self.timing.fast)
            for block in blocks:
                self.play(Appear(block[0]), run_time=self.timing.fast)
            self.say(rule_sentence())
            self.say(means_sentence(self.pair))
            self.play(*(Appear(block[1]) for block in blocks), run_time=self.timing.build)
            self.say(translation_sentence(self.pair), pause=self.timing.look)
            self.clear_stage()

    def where_it_looks(self) -> None:
        with self.beat("where it looks"):
            p = self.pair
            self.show_heading(f"Where \u201c{p.a.it}\u201d looks",
                              label(f"the encoder's self-attention: the row of \u201c{p.a.it}\u201d  \u00b7  "
                                    f"{self.where}", 24))

            def make(rows: int, cols: int) -> VGroup:
                group = VGroup()
                for s in p.sides:
                    grid = self.one_row(s, f"{self.a}.hook_pattern", self.head, s.c.pronoun + s.shift,
                                        token(s.it, palette.ENCODER, 24), cols)
                    means = VGroup()
                    if s.referent is not None and grid.square(0, s.referent.index + s.shift) is not None:
                        means = label(f"\u201c{s.it}\u201d means", 18).next_to(
                            grid.square(0, s.referent.index + s.shift), DOWN, buff=0.12)
                    group.add(VGroup(self.tag(s).next_to(grid, LEFT, buff=0.5), grid, means))
                return group.arrange(DOWN, buff=0.45, aligned_edge=RIGHT)

            group = self.fit_folding(make, 1, len(p.a.keys), max_height=layout.STAGE_HEIGHT - 0.2)
            for tag, grid, means in group:
                self.play(Appear(VGroup(tag, grid)), run_time=self.timing.build)
            self.say(head_sentence(p), pause=self.timing.look)
            boxes = VGroup(*(SurroundingRectangle(grid.square(0, s.pick + s.shift), color=palette.HIGHLIGHT,
                                                  buff=0.03, stroke_width=4)
                             for s, (_, grid, _) in zip(p.sides, group)))
            self.play(*(Create(b) for b in boxes), *(Appear(m) for _, _, m in group), run_time=self.timing.build)
            self.say(attention_sentence(p), pause=self.timing.look)
            self.say(share_sentence(p))
            self.say(change_sentence(p), pause=self.timing.look)
            self.clear_stage()

    def the_pronoun(self) -> None:
        with self.beat("the pronoun"):
            p = self.pair
            sides = [s for s in p.sides if s.row is not None]
            self.show_heading("Where the decoder writes the pronoun",
                              label("its probabilities for the next word, from the decoder's last layer", 24))
            if not sides:
                self.say("Neither translation has the pronoun's place, after \u201cparce qu\u2019\u201d.")
                self.clear_stage()
                return
            columns = VGroup()
            for s in sides:
                ids = [s.vocab.index(w) for w in FRENCH_PRONOUNS]
                best = int(np.argmax(s.probs))
                cols = sorted(ids, key=lambda i: -s.probs[i])
                if best not in cols:
                    cols = [best] + cols
                bars = ProbBars(self.values("unembed.hook_probs", model=self.slot(s)).select(rows=[s.row]), cols,
                                s.vocab, length=3.2, highlight=best, word_size=26)
                row_label = self.labels("decoder", 26, model=self.slot(s))[s.row]
                head = VGroup(self.tag(s, 24), label("decoder row", 22), row_label).arrange(RIGHT, buff=0.25)
                columns.add(VGroup(head, bars).arrange(DOWN, buff=0.4, aligned_edge=LEFT))
            columns.arrange(RIGHT, buff=1.4, aligned_edge=UP)
            self.fit(columns, layout.STAGE_CENTER + 0.1 * DOWN)
            for col in columns:
                self.play(Appear(col), run_time=self.timing.build)
            self.say(pronoun_sentence(p), pause=self.timing.look)
            self.say(agreement_sentence(p), pause=self.timing.look)
            self.clear_stage()

    def what_it_reads(self) -> None:
        with self.beat("what it reads"):
            p = self.pair
            if p.cross is None:
                self.say("Without the pronoun's place in both translations, there is no row to compare.")
                return
            layer, head = p.cross
            self.show_heading("What the pronoun's row reads in the English",
                              label(f"cross-attention  \u00b7  decoder layer {layer} \u00b7 head {head}", 24))

            def make(rows: int, cols: int) -> VGroup:
                group = VGroup()
                for s in p.sides:
                    row_label = self.labels("decoder", 24, model=self.slot(s))[s.row]
                    grid = self.one_row(s, f"decoder.blocks.{layer}.cross_attn.hook_pattern", head, s.row, row_label,
                                        cols)
                    group.add(VGroup(self.tag(s).next_to(grid, LEFT, buff=0.5), grid))
                return group.arrange(DOWN, buff=0.45, aligned_edge=RIGHT)

            group = self.fit_folding(make, 1, len(p.a.keys), max_height=layout.STAGE_HEIGHT - 0.2)
            for part in group:
                self.play(Appear(part), run_time=self.timing.build)
            self.say("This head is chosen by the same kind of rule: its row moves most from one sentence to the other.",
                     pause=self.timing.fast)
            boxes = VGroup()
            for s, (_, grid) in zip(p.sides, group):
                for k in np.argsort(-p.cross_row(s), kind="stable")[:2]:
                    if grid.square(0, int(k)) is not None:
                        boxes.add(SurroundingRectangle(grid.square(0, int(k)), color=palette.HIGHLIGHT, buff=0.03,
                                                       stroke_width=4))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say(cross_sentence(p), pause=self.timing.look)
            if cross_reads_nouns(p):
                self.say(noun_sentence(p, (p.cross_row(p.a), p.cross_row(p.b)), "the pronoun's row"))
            self.say(flow_sentence(p))
            self.clear_stage()

    def verdict(self) -> None:
        with self.beat("verdict", poster=True):
            p = self.pair
            self.show_heading("Where the choice is made")
            heads = [f"\u201c{p.a.it}\u201d weighs the nouns"]
            if p.cross is not None:
                heads += ["the pronoun's row reads", "the decoder writes"]
            rows = []
            for s in p.sides:
                slot = self.slot(s)
                enc = self.values(f"{self.a}.hook_pattern", self.head, model=slot).select(rows=[s.c.pronoun + s.shift])
                nouns = self.numbers([(s.c.words[i], palette.ENCODER, enc, i + s.shift) for i in s.c.nouns])
                means = s.referent.word if s.referent is not None else "?"
                cells = [VGroup(self.tag(s, 28), label(f"\u201c{s.it}\u201d means \u201c{means}\u201d", 22)), nouns]
                if p.cross is not None:
                    layer, head = p.cross
                    crow = self.values(f"decoder.blocks.{layer}.cross_attn.hook_pattern", head, model=slot).select(
                        rows=[s.row])
                    top = np.argsort(-crow.data[0], kind="stable")[:2]
                    cells.append(self.numbers([(s.keys[k], palette.ENCODER, crow, k) for k in top]))
                    probs = self.values("unembed.hook_probs", model=slot).select(rows=[s.row])
                    best = np.argsort(-probs.data[0], kind="stable")[:2]
                    cells.append(self.numbers([(s.vocab[k], palette.HIGHLIGHT if j == 0 else palette.DECODER, probs, k)
                                               for j, k in enumerate(best)]))
                rows.append(cells)
            table = self.table([label(h, 24) for h in heads], rows)
            self.fit(table, layout.STAGE_CENTER)
            # the noun each row of "it" weighs most, boxed as where it looks was
            picks = VGroup(*(SurroundingRectangle(cells[1].pair(list(s.c.nouns).index(s.pick)), color=palette.HIGHLIGHT,
                                                  buff=0.1, stroke_width=4) for s, cells in zip(p.sides, rows)))
            self.play(Appear(table), run_time=self.timing.build)
            self.play(*(Create(b) for b in picks), run_time=self.timing.fast)
            self.say(verdict_sentence(p), pause=self.timing.look)
            self.say(flow_summary(p), pause=self.timing.look)
            self.clear_stage()

    def numbers(self, items: list) -> LabelledNumbers:
        """Words with a traced number under each: (word, colour, one-row view, column)."""
        pairs = [(token(w, color, 28), entry(values, 0, int(k), 2, 26)) for w, color, values, k in items]
        return LabelledNumbers(pairs, across=True, buff=0.4, row_height=0.5)

    def table(self, heads: list[VGroup], rows: list[list[VGroup]], gap: float = 0.8, height: float = 1.35) -> VGroup:
        """Cells in columns on common baselines, each column as wide as its widest cell; a header over every
        column but the first, and a rule under the headers. A cell's second line stands 0.5 below its first."""
        n = len(rows[0])
        widths = [max([r[j].width for r in rows] + ([heads[j - 1].width] if j else [])) for j in range(n)]
        xs = np.cumsum([0.0] + [w + gap for w in widths[:-1]])
        table = VGroup()
        for j, head in enumerate(heads, start=1):
            set_baseline(head.move_to([xs[j] + widths[j] / 2, 0, 0]), 0.75)
            table.add(head)
        for i, cells in enumerate(rows):
            for j, cell in enumerate(cells):
                cell.move_to([xs[j] + widths[j] / 2, 0, 0])
                if j == 0:  # the tag and its second line, on the lines of the words and numbers beside it
                    first, second = cell
                    second.next_to(first, DOWN, buff=0)
                    set_baseline(second, baseline(first) - 0.5)
                    cell.move_to([xs[0] + widths[0] / 2, 0, 0])
                set_baseline(cell, -i * height)
                table.add(cell)
        table.add(Line([0, 0.5, 0], [xs[-1] + widths[-1], 0.5, 0], color=palette.FAINT, stroke_width=2))
        return table
