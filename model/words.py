"""What kind of word each English word of the grammar is, and the French gender of its nouns.

NumPy- and torch-free, so that scenes can colour words by class and count genders:

    >>> word_classes("the duck does not push the table because it is too heavy")
    ['determiner', 'noun', 'auxiliary', 'adverb', 'verb', 'determiner', 'noun', 'conjunction', 'pronoun', 'verb', 'adverb', 'adjective']
    >>> french_gender("tables"), french_gender("duck"), french_gender("push")
    ('f', 'm', None)
"""

from __future__ import annotations

from .corpus import (ADJECTIVES, AND, BE, BECAUSE, DETERMINERS, NEGATION, NOUN_FORMS, PREPOSITIONS, PRONOUNS, TOO,
                     VERBS)
from .tokenizer import normalize

WORD_CLASSES = ("noun", "adjective", "verb", "auxiliary", "preposition", "determiner", "pronoun", "conjunction", "adverb")


def _classes() -> dict[str, str]:
    table: dict[str, str] = {}

    def put(words, cls: str) -> None:
        for w in words:
            if table.setdefault(w, cls) != cls:  # the grammar is built so that no word has two classes
                raise ValueError(f"{w!r} is both a {table[w]} and a {cls}")

    put(NOUN_FORMS, "noun")
    put((a.en for a in ADJECTIVES), "adjective")
    for v in VERBS:  # "looks at": the verb, then the preposition it takes
        for form in v.en:
            head, *rest = form.split()
            put([head], "verb")
            put(rest, "preposition")
    put([*BE["en"]], "verb")
    put({n.split()[0] for n in NEGATION}, "auxiliary")  # "does", "do"
    put({n.split()[1] for n in NEGATION} | {TOO[0]}, "adverb")  # "not", "too"
    put({w for p in PREPOSITIONS for w in p.split()}, "preposition")  # "in front of": three words, one preposition
    put([*DETERMINERS, "an"], "determiner")
    put(PRONOUNS["en"], "pronoun")
    put([AND[0], BECAUSE[0]], "conjunction")
    return table


CLASSES = _classes()


def word_class(word: str) -> str | None:
    """The grammatical class (one of WORD_CLASSES) of an English word of the grammar; None for any other word."""
    return CLASSES.get(word.lower())


def word_classes(sentence: str) -> list[str | None]:
    """The class of each word of an English sentence, as the tokenizer splits it (normalize)."""
    return [word_class(w) for w in normalize(sentence)]


def french_gender(noun: str) -> str | None:
    """The gender ("m" or "f") of the French word for an English noun, singular or plural ("cats" → "m",
    "tables" → "f"); None for a word that is not a noun of the grammar."""
    found = NOUN_FORMS.get(noun.lower())
    return found[0].gender if found else None
