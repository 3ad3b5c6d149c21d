"""A word-level tokenizer with one vocabulary shared by English and French.

Text is lower-cased and split into words and punctuation marks; sentence
punctuation (. , ! ? ; :) carries no meaning in the toy corpus and is dropped.
A French elided word is a token of its own ("n'aime" → "n'", "aime") and is joined
back to the next word when words are written out; an English "n't" reads as "not"
("doesn't" → "does", "not"). Words the vocabulary does not know become `<unk>`; the
caller is told which, with the closest known words of the same language as suggestions.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .files import atomic_write

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
MASK, CLS, SEP = "[MASK]", "[CLS]", "[SEP]"  # reserved for the BERT variant
SPECIALS = [PAD, BOS, EOS, UNK, MASK, CLS, SEP]

SENTENCE_PUNCTUATION = set(".,!?;:")
_WORD = re.compile(r"\[mask\]|[^\W_]+(?:['’][^\W_]+)*|\S", re.UNICODE)


_ELIDED = re.compile(r"(?:qu|[^\W\d_])'(?=[^\W_])")  # "n'", "l'", "qu'" before a word
_NOT = re.compile(r"([^\W_]+)n't")
_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}  # "can't", "won't", "shan't"
LANGUAGES = ("en", "fr")


def _split(word: str) -> list[str]:
    """One word of text as tokens: "n'aime" → ["n'", "aime"], "doesn't" → ["does", "not"]."""
    word = word.replace("’", "'")
    if m := _NOT.fullmatch(word):
        return [_NOT_STEMS.get(m[1], m[1]), "not"]
    tokens = []
    while m := _ELIDED.match(word):
        tokens.append(m[0])
        word = word[m.end():]
    return tokens + [word]


def normalize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, sentence punctuation dropped, elisions split off;
    "[MASK]" (any case) stays one token."""
    text = unicodedata.normalize("NFC", text).lower()
    return [MASK if w == "[mask]" else t for w in _WORD.findall(text) if w not in SENTENCE_PUNCTUATION
            for t in ([w] if w == "[mask]" else _split(w))]


def is_elided(token: str) -> bool:
    return len(token) > 1 and token.endswith("'") and token[:-1].isalpha()


def join_words(tokens: list[str]) -> str:
    """Tokens written out as text: an elided word joins the next one ("n'" "aime" → "n'aime")."""
    text = ""
    for i, t in enumerate(tokens):
        text += ("" if i == 0 or is_elided(tokens[i - 1]) else " ") + t
    return text


@dataclass
class Encoded:
    ids: list[int]
    tokens: list[str]
    unknown: list[str] = field(default_factory=list)


class Tokenizer:
    """One vocabulary for both languages; `languages` says which words are English ("en"), which French ("fr")."""

    def __init__(self, words: list[str], languages: dict[str, list[str]] | None = None):
        self.itos = list(words)
        if self.itos[: len(SPECIALS)] != SPECIALS:
            raise ValueError("a vocabulary starts with the special tokens " + " ".join(SPECIALS))
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self.stoi[t] for t in (PAD, BOS, EOS, UNK))
        self.languages = {k: sorted(v) for k, v in (languages or {}).items()}
        self._known = {k: frozenset(v) for k, v in self.languages.items()}
        for lang, ws in self.languages.items():
            if not set(ws) <= set(self.words):
                raise ValueError(f"the {lang} words are not all in the vocabulary")

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def from_corpus(cls, sentences: list[str]) -> "Tokenizer":
        words = sorted({w for s in sentences for w in normalize(s)})
        return cls(SPECIALS + words)

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> "Tokenizer":
        """The vocabulary of (English, French) pairs, each word marked with its language."""
        languages = {lang: sorted({w for pair in pairs for w in normalize(pair[i])}) for i, lang in enumerate(LANGUAGES)}
        return cls(SPECIALS + sorted(set(languages["en"]) | set(languages["fr"])), languages)

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["tokens"], data.get("languages"))

    def save(self, path: str | Path) -> None:
        data: dict = {"tokens": self.itos}
        if self.languages:
            data["languages"] = self.languages
        with atomic_write(path, "w") as f:
            json.dump(data, f, ensure_ascii=False, indent=0)

    @property
    def words(self) -> list[str]:
        """The known words, without special tokens."""
        return self.itos[len(SPECIALS):]

    def words_of(self, language: str | None) -> list[str]:
        """The known words of one language ("en", "fr"); all of them for None or a vocabulary without languages."""
        if language is None or not self.languages:
            return self.words
        if language not in self.languages:
            raise InputError(f"unknown language {language!r}; known: {', '.join(self.languages)}")
        return self.languages[language]

    def encode(self, text: str, *, what: str = "sentence", max_words: int | None = None, language: str | None = None) -> Encoded:
        """Ids and tokens of `text`, without <bos>/<eos>. Raises InputError for empty or too long text.

        With a `language`, a word of the other language is unknown too ("poisson" in an English sentence)."""
        words = normalize(text)
        if not words:
            raise InputError(f"the {what} is empty; give at least one word")
        if max_words is not None and len(words) > max_words:
            raise InputError(f"the {what} has {len(words)} words; the limit is {max_words}")
        known = self.stoi if language is None else self._known.get(language) or set(self.words_of(language))
        unknown = [w for w in words if w not in known]
        tokens = [w if w in known else UNK for w in words]
        return Encoded([self.stoi[t] for t in tokens], tokens, unknown)

    def decode(self, ids: list[int]) -> str:
        words = []
        for i in ids:
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            words.append(self.itos[i])
        return join_words(words)

    def suggestions(self, word: str, n: int = 3, language: str | None = None) -> list[str]:
        """The known words closest to `word`, from `language` ("en", "fr") only when given."""
        return difflib.get_close_matches(word, self.words_of(language), n=n, cutoff=0.5)

    def _named(self, unknown: list[str], language: str | None) -> str:
        """The unknown words, each once, quoted, with the closest known words of its language."""
        parts = []
        for w in dict.fromkeys(unknown):
            close = self.suggestions(w, language=language)
            parts.append(f"'{w}'" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        return "; ".join(parts)

    def unknown_warning(self, unknown: list[str], what: str = "sentence", language: str | None = None) -> str:
        return f"warning: unknown words in the {what} read as {UNK}: " + self._named(unknown, language)

    def unknown_error(self, unknown: list[str], what: str = "sentence", language: str | None = None) -> str:
        """One line: which words the model never saw, the closest it knows, and where to look."""
        n = len(dict.fromkeys(unknown))
        return (f"the model does not know {'this word' if n == 1 else f'these {n} words'} of the {what}: "
                f"{self._named(unknown, language)}. It knows a small world: `python -m model vocab` lists its "
                f"words, `python -m model examples` shows sentences it translates; --allow-unknown reads unknown "
                f"words as {UNK}")

    def check_known(self, enc: "Encoded", what: str, language: str | None, allow_unknown: bool, warn) -> None:
        """Unknown words stop with an InputError, unless `allow_unknown`: then they are read as <unk>, with a warning."""
        if not enc.unknown:
            return
        if not allow_unknown:
            raise InputError(self.unknown_error(enc.unknown, what, language))
        warn(self.unknown_warning(enc.unknown, what, language))
