"""A word-level tokenizer with one vocabulary shared by English and French.

Text is lower-cased and split into words and punctuation marks; sentence
punctuation (. , ! ? ; :) carries no meaning in the toy corpus and is dropped.
Words the vocabulary does not know become `<unk>`; the caller is told which, with
the closest known words as suggestions.
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


def normalize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, sentence punctuation dropped; "[MASK]" (any case) stays one token."""
    text = unicodedata.normalize("NFC", text).lower()
    return [MASK if w == "[mask]" else w for w in _WORD.findall(text) if w not in SENTENCE_PUNCTUATION]


@dataclass
class Encoded:
    ids: list[int]
    tokens: list[str]
    unknown: list[str] = field(default_factory=list)


class Tokenizer:
    def __init__(self, words: list[str]):
        self.itos = list(words)
        if self.itos[: len(SPECIALS)] != SPECIALS:
            raise ValueError("a vocabulary starts with the special tokens " + " ".join(SPECIALS))
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self.stoi[t] for t in (PAD, BOS, EOS, UNK))

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def from_corpus(cls, sentences: list[str]) -> "Tokenizer":
        words = sorted({w for s in sentences for w in normalize(s)})
        return cls(SPECIALS + words)

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        return cls(json.loads(Path(path).read_text(encoding="utf-8"))["tokens"])

    def save(self, path: str | Path) -> None:
        with atomic_write(path, "w") as f:
            json.dump({"tokens": self.itos}, f, ensure_ascii=False, indent=0)

    @property
    def words(self) -> list[str]:
        """The known words, without special tokens."""
        return self.itos[len(SPECIALS):]

    def encode(self, text: str, *, what: str = "sentence", max_words: int | None = None) -> Encoded:
        """Ids and tokens of `text`, without <bos>/<eos>. Raises InputError for empty or too long text."""
        words = normalize(text)
        if not words:
            raise InputError(f"the {what} is empty; give at least one word")
        if max_words is not None and len(words) > max_words:
            raise InputError(f"the {what} has {len(words)} words; the limit is {max_words}")
        unknown = [w for w in words if w not in self.stoi]
        tokens = [w if w in self.stoi else UNK for w in words]
        return Encoded([self.stoi[t] for t in tokens], tokens, unknown)

    def decode(self, ids: list[int]) -> str:
        words = []
        for i in ids:
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            words.append(self.itos[i])
        return " ".join(words)

    def suggestions(self, word: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(word, self.words, n=n, cutoff=0.5)

    def unknown_warning(self, unknown: list[str], what: str = "sentence") -> str:
        parts = []
        for w in dict.fromkeys(unknown):
            close = self.suggestions(w)
            parts.append(f"'{w}'" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        return f"warning: unknown words in the {what} read as {UNK}: " + "; ".join(parts)
