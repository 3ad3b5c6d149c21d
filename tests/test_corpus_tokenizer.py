"""The toy corpus and the word-level tokenizer."""

import pytest

from model import VOCAB
from model.corpus import ADJECTIVES, generate, lexicon_words
from model.errors import InputError
from model.tokenizer import SPECIALS, UNK, Tokenizer, normalize


def test_corpus_is_deterministic_and_heldout_is_disjoint():
    a, b = generate(seed=0), generate(seed=0)
    assert a == b
    assert generate(seed=1).train != a.train
    assert len(a.train) >= 3000 and len(a.heldout) >= 300
    assert not {en for en, _ in a.train} & {en for en, _ in a.heldout}


def test_corpus_has_enough_words_on_each_side():
    en, fr = lexicon_words()
    assert len(en) >= 150 and len(fr) >= 150
    c = generate()
    seen_en = {w for e, _ in c.train for w in e.split()}
    seen_fr = {w for _, f in c.train for w in f.split()}
    assert len(seen_en) >= 150 and len(seen_fr) >= 150


def test_grammar_reorders_and_agrees():
    pairs = generate().train
    assert len({a.before for a in ADJECTIVES}) == 2

    def seen(en: str, fr: str) -> bool:
        return any(f" {en} " in f" {e} " and f" {fr} " in f" {f} " for e, f in pairs)

    # most adjectives follow the noun in French, agreeing in gender and number
    assert seen("black cat", "chat noir")
    assert seen("red apples", "pommes rouges")
    assert seen("white car", "voiture blanche")
    # a few precede it, as in English
    assert seen("small dog", "petit chien")
    assert seen("old goats", "vieilles chèvres")
    assert seen("an old", "un vieux")
    # verbs agree with their subject
    assert seen("dogs eat", "chiens mangent") or seen("dogs see", "chiens voient")
    assert seen("cat eats", "chat mange")
    # two English words, one French word: the sentences differ in length
    assert seen("looks at", "regarde")
    assert sum(len(e.split()) != len(f.split()) for e, f in pairs) > len(pairs) // 10


def test_normalize():
    assert normalize("The Black CAT eats, the small fish!") == ["the", "black", "cat", "eats", "the", "small", "fish"]
    assert normalize("  le   chat NOIR. ") == ["le", "chat", "noir"]
    assert normalize("\\input{x} $y$") == ["\\", "input", "{", "x", "}", "$", "y", "$"]


def test_vocabulary_has_specials_and_both_languages():
    tok = Tokenizer.load(VOCAB)
    assert tok.itos[: len(SPECIALS)] == ["<pad>", "<bos>", "<eos>", "<unk>", "[MASK]", "[CLS]", "[SEP]"]
    en, fr = lexicon_words()
    assert en | fr <= set(tok.words)


def test_encode_unknown_and_errors():
    tok = Tokenizer.load(VOCAB)
    enc = tok.encode("the blak cat eats the fsh")
    assert enc.tokens == ["the", UNK, "cat", "eats", "the", UNK]
    assert enc.unknown == ["blak", "fsh"]
    warning = tok.unknown_warning(enc.unknown)
    assert "'blak'" in warning and "black" in warning and "'fsh'" in warning and "fish" in warning
    with pytest.raises(InputError, match="empty"):
        tok.encode("   ")
    with pytest.raises(InputError, match="the limit is 3"):
        tok.encode("a b c d", max_words=3)
    assert tok.decode(tok.encode("le chat noir").ids + [tok.eos_id, tok.stoi["chat"]]) == "le chat noir"
