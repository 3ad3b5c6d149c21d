"""Which noun "it" means: the coreference construction of the corpus, read from an English sentence.

    the duck does not push the table because it is too heavy   → "it" is the table (elle)
    the duck does not push the table because it is too tired   → "it" is the duck  (il)

The adjective decides (corpus.COREFERENCE_ADJECTIVES): one that fits only animals means the
animal, one about size or weight means the thing. `find` reads the construction from a sentence
(the position of "it", the two candidate nouns, the adjective, the referent); `twin` is the same
sentence with the adjective swapped for its partner of the other kind (TWINS), which moves the
referent to the other noun; `choose_head` picks the attention head a viewer is shown, by a rule
that never looks at the referent: the head whose "it" row moves most between a sentence and its
twin. Torch-free (NumPy only), so that scenes can call all of it on traces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .corpus import (ANIMATE, BE, BECAUSE, COREFERENCE_ADJECTIVES, NOUN_FORMS, PRONOUNS, TOO, VERBS, ADJECTIVE_FORMS,
                     NEGATION)
from .errors import InputError
from .tokenizer import normalize

# The coreference pair the scenes show by default: this sentence and its twin ("… too tired").
COREFERENCE_SENTENCE = "the duck does not push the table because it is too heavy"

# Each adjective that fits only animals is paired with one about size or weight, both ways:
# the twin of a sentence swaps its adjective for the partner and so moves the referent.
TWINS = dict(zip(COREFERENCE_ADJECTIVES["animal"], COREFERENCE_ADJECTIVES["thing"]))
TWINS |= {b: a for a, b in TWINS.items()}
KIND = {a: kind for kind, adjectives in COREFERENCE_ADJECTIVES.items() for a in adjectives}

_ANIMALS = {n.en for n in ANIMATE}
_FRENCH_PRONOUNS = {p: gender for (gender, _), p in PRONOUNS["fr"].items()}  # il → m, elles → f
_VERB_WORDS = {form.split()[0] for v in VERBS for form in v.en} | {n.split()[0] for n in NEGATION}


@dataclass(frozen=True)
class Noun:
    """A candidate noun: its position among the sentence's words, and what French makes of it."""

    index: int
    word: str  # as written, singular or plural
    gender: str  # of the French noun: "m" or "f"
    plural: bool
    animate: bool

    @property
    def pronoun(self) -> str:
        """The French pronoun for this noun: il, elle, ils, elles."""
        return PRONOUNS["fr"][self.gender, self.plural]


@dataclass(frozen=True)
class Coreference:
    """The construction in one sentence. Positions count the words as the tokenizer splits them
    (`normalize`), from 0, without special tokens: add 1 for a stack that starts with [CLS] or <bos>."""

    words: tuple[str, ...]
    pronoun: int  # where "it" (or "they") is
    adjective: int  # where the adjective after "too" is
    subject: Noun
    object: Noun
    nouns: tuple[int, ...]  # every noun of the sentence, the two candidates among them

    @property
    def kind(self) -> str:
        """"animal" (tired, lazy, young) or "thing" (heavy, big, small)."""
        return KIND[self.words[self.adjective]]

    @property
    def referent(self) -> Noun | None:
        """The noun "it" means, by the rule: the candidate of the adjective's kind (animate for an
        animal adjective, inanimate otherwise), or where both or neither are, the one whose number
        is the pronoun's; None where that still leaves two."""
        fits = [c for c in (self.subject, self.object) if c.animate == (self.kind == "animal")]
        if len(fits) != 1:
            fits = [c for c in (self.subject, self.object) if c.plural == (self.words[self.pronoun] == PRONOUNS["en"][1])]
        return fits[0] if len(fits) == 1 else None

    @property
    def role(self) -> str | None:
        """Which candidate the referent is: "subject", "object" (None where the rule cannot tell)."""
        r = self.referent
        return None if r is None else "subject" if r == self.subject else "object"


def find(sentence: str) -> Coreference | None:
    """The coreference construction in `sentence` (… NOUN … VERB … NOUN … because it/they is/are too ADJ),
    or None where the sentence has none. The subject is its first noun, the object the first noun after
    the verb that follows it."""
    words = tuple(normalize(sentence))
    if BECAUSE[0] not in words:
        return None
    b = words.index(BECAUSE[0])
    tail = words[b + 1 : b + 5]
    if (len(tail) < 4 or tail[0] not in PRONOUNS["en"] or tail[1] not in BE["en"] or tail[2] != TOO[0]
            or tail[3] not in KIND):
        return None
    nouns = tuple(i for i, w in enumerate(words) if w in NOUN_FORMS)
    before = [i for i in nouns if i < b]
    if not before:
        return None
    s = before[0]
    verb = next((i for i in range(s + 1, b) if words[i] in _VERB_WORDS), None)
    o = next((i for i in before if verb is not None and i > verb), None)
    if o is None:
        return None
    return Coreference(words, b + 1, b + 4, _noun(words, s), _noun(words, o), nouns)


def _noun(words: tuple[str, ...], i: int) -> Noun:
    noun, plural = NOUN_FORMS[words[i]]
    return Noun(i, words[i], noun.gender, plural, noun.en in _ANIMALS)


def pronoun_gender(pronoun: str | None) -> str | None:
    """"m" for il/ils, "f" for elle/elles, None for anything else."""
    return _FRENCH_PRONOUNS.get(pronoun)


def french_adjective(c: Coreference) -> str:
    """The adjective as French writes it after "trop", agreeing with the referent ("lourde", "fatigués")."""
    r = c.referent
    if r is None:
        raise InputError(f"'{' '.join(c.words)}': the rule cannot tell which noun '{c.words[c.pronoun]}' means")
    return ADJECTIVE_FORMS[c.words[c.adjective]].fr[2 * r.plural + (r.gender == "f")]


def french_pronoun(french: str) -> str | None:
    """The pronoun after "parce qu'" in a French sentence (il, elle, ils, elles), or None where there is none."""
    words = normalize(french)
    for i in range(len(words) - 2):
        if words[i : i + 2] == list(BECAUSE[1]) and words[i + 2] in _FRENCH_PRONOUNS:
            return words[i + 2]
    return None


def pronoun_row(tokens: Sequence[str]) -> int | None:
    """The decoder row that writes the pronoun: the position of "qu'" after "parce" in a decoder's tokens
    (<bos> included), whose row predicts the word after it; None where the French has no "parce qu'"."""
    tokens = list(tokens)
    for i in range(len(tokens) - 1):
        if tokens[i : i + 2] == list(BECAUSE[1]):
            return i + 1
    return None


def chosen_noun(c: Coreference, french: str) -> Noun | None:
    """The candidate a translation's pronoun points to, by its gender and number (the one it fits alone);
    None where the translation has no pronoun there or it fits both candidates or neither."""
    p = french_pronoun(french)
    fits = [n for n in (c.subject, c.object) if n.pronoun == p]
    return fits[0] if len(fits) == 1 else None


def twin(sentence: str) -> str:
    """The same sentence with the adjective swapped for its partner of the other kind (TWINS: tired ↔ heavy,
    lazy ↔ big, young ↔ small), and "it is"/"they are" made to agree with the new referent; every other
    word, and so every position, stays. Raises InputError where the sentence has no such construction."""
    c = find(sentence)
    if c is None:
        raise InputError(f"'{sentence}' has no 'because it is too …' with one of: {', '.join(KIND)}")
    words = list(c.words)
    words[c.adjective] = TWINS[words[c.adjective]]
    swapped = find(" ".join(words))
    fits = [n for n in (swapped.subject, swapped.object) if n.animate == (swapped.kind == "animal")]
    if len(fits) == 1:  # the pronoun and its verb follow the new referent's number
        words[c.pronoun] = PRONOUNS["en"][fits[0].plural]
        words[c.pronoun + 1] = BE["en"][fits[0].plural]
    return " ".join(words)


# ---------------------------------------------------------------------------
# Attention: the row of "it"
# ---------------------------------------------------------------------------


def offset(tokens: Sequence[str]) -> int:
    """Where the sentence's first word sits in a stack's tokens: 1 after [CLS] or <bos>, else 0."""
    return 1 if tokens and tokens[0] in ("[CLS]", "<bos>") else 0


def pronoun_rows(patterns: Sequence[np.ndarray], c: Coreference, shift: int = 0) -> np.ndarray:
    """[layers, heads, keys]: the self-attention row of the pronoun in each layer and head, from each
    layer's `hook_pattern` [heads, queries, keys]; `shift` = offset(tokens)."""
    return np.stack([np.asarray(p)[:, c.pronoun + shift, :] for p in patterns])


def noun_weights(rows: np.ndarray, c: Coreference, shift: int = 0) -> np.ndarray:
    """[..., 2]: the weight of each row on the subject and on the object."""
    return rows[..., [c.subject.index + shift, c.object.index + shift]]


def choose_head(rows: np.ndarray, twin_rows: np.ndarray, c: Coreference, shift: int = 0) -> tuple[int, int]:
    """(layer, head) whose pronoun row changes its preference between the two candidates most from the
    sentence to its twin: the largest |(w_subject − w_object) − (w'_subject − w'_object)|, ties to the
    earlier layer and head. It looks at the attention only, never at which noun is the referent.
    `rows`, `twin_rows`: pronoun_rows of the sentence and of its twin (the same positions)."""
    w, w2 = noun_weights(rows, c, shift), noun_weights(twin_rows, c, shift)
    change = np.abs((w[..., 0] - w[..., 1]) - (w2[..., 0] - w2[..., 1]))  # [layers, heads]
    layer, head = np.unravel_index(int(np.argmax(change)), change.shape)
    return int(layer), int(head)


def strongest_noun(row: np.ndarray, c: Coreference, shift: int = 0) -> int:
    """The position (among the words, without shift) of the noun a row weighs most, over all the sentence's nouns."""
    return max(c.nouns, key=lambda i: row[i + shift])


def finds_its_noun(row: np.ndarray, c: Coreference, shift: int = 0) -> bool:
    """Whether a pronoun row puts its largest weight over the sentence's nouns on the referent."""
    r = c.referent
    return r is not None and strongest_noun(row, c, shift) == r.index


def trace_patterns(trace, stack: str) -> list[np.ndarray]:
    """Each layer's self-attention pattern of a stack of a trace (`{stack}.blocks.{i}.self_attn.hook_pattern`)."""
    return [trace[f"{stack}.blocks.{i}.self_attn.hook_pattern"] for i in range(trace.config["n_layers"][stack])]


def choose_head_in_traces(trace, twin_trace, stack: str = "encoder") -> tuple[int, int]:
    """choose_head on two traces, of a sentence and of its twin (`twin(trace.sentence)`)."""
    c = find(trace.sentence)
    if c is None:
        raise InputError(f"'{trace.sentence}' has no 'because it is too …' to follow")
    t = find(twin_trace.sentence)
    if t is None or t.pronoun != c.pronoun or len(t.words) != len(c.words):
        raise InputError(f"'{twin_trace.sentence}' is not a twin of '{trace.sentence}' (try: {twin(trace.sentence)!r})")
    shift = offset(trace.tokens(stack))
    return choose_head(pronoun_rows(trace_patterns(trace, stack), c, shift),
                       pronoun_rows(trace_patterns(twin_trace, stack), c, shift), c, shift)


# The default pair the coreference scene shows: the sentence, and its twin whose "it" is the other noun.
COREFERENCE_PAIR = (COREFERENCE_SENTENCE, twin(COREFERENCE_SENTENCE))
