"""The toy corpus and the word-level tokenizer."""

import re

import pytest

from model import VOCAB
from model.corpus import (ADJECTIVES, CONSTRUCTIONS, DETERMINERS, LENGTH_BUCKETS, NOUN_FORMS, VERBS, MAX_WORDS, VOWELS, constructions,
                          examples, generate, length_bucket, lexicon_words, n_words)
from model.errors import InputError
from model.words import word_class
from model.tokenizer import SPECIALS, UNK, Tokenizer, join_words, normalize
from model.transformer import Config


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


def _seen(pairs, en: str, fr: str) -> bool:
    return any(f" {en} " in f" {e} " and f" {fr} " in f" {f} " for e, f in pairs)


def test_negation():
    pairs = generate().train
    assert _seen(pairs, "cat does not eat", "chat ne mange pas")
    assert _seen(pairs, "girl does not like", "fille n'aime pas")  # elided before a vowel
    assert _seen(pairs, "cats do not eat", "chats ne mangent pas")
    assert _seen(pairs, "does not look at", "ne regarde pas")  # two English words, one French, negated
    assert _seen(pairs, "does not eat a", "ne mange pas de")  # "pas de", not "pas un"
    negated = [(e, f) for e, f in pairs if "not" in e.split()]
    assert len(negated) > len(pairs) // 5
    for e, f in negated:
        words = normalize(f)
        neg = "ne" if "ne" in words else "n'"
        verb = words[words.index(neg) + 1]
        assert words[words.index(neg) + 2] == "pas", f
        assert (neg == "n'") == (verb[0] in VOWELS), f  # elision exactly where French wants it
        assert "not" not in words and "ne" not in e.split()


def test_coordination_of_subjects_and_objects():
    pairs = generate().train
    assert _seen(pairs, "cat and the dog", "chat et le chien")
    # two singular subjects: a plural verb ("le chat et le chien mangent")
    singular, plural = {v.fr[0] for v in VERBS}, {v.fr[1] for v in VERBS}
    det = "(?:le|la|un|une|mon|ma|ce|cette)"  # singular noun phrases of two words: "le chat", "une vache"
    verbs = [m[1] for _, f in pairs if (m := re.match(rf"{det} [^\W\d]+ et {det} [^\W\d]+ (?:ne |n')?([^\W\d]+)", f))]
    assert len(verbs) > 100 and all(v in plural for v in verbs if v in singular | plural)
    assert _seen(pairs, "and the dog do not", "et le chien ne")
    assert any(e.split().count("and") == 2 for e, _ in pairs)  # subjects and objects at once
    for e, f in pairs[:2000]:
        assert e.split().count("and") == f.split().count("et"), (e, f)


def test_bare_plurals_take_a_french_article():
    pairs = generate().train
    bare_subject = [(e, f) for e, f in pairs if e.split()[0] not in set(DETERMINERS) | {"an"}]
    assert len(bare_subject) > 1000
    assert all(f.split()[0] == "les" for _, f in bare_subject)  # "cats sleep" → "les chats dorment"
    assert _seen(pairs, "with apples", "avec des pommes")
    assert _seen(pairs, "not eat apples", "pas de pommes")  # "de" after a negation
    # and before an adjective: "plays in fat cars" → "joue dans de grosses voitures"
    before = {a.en: a for a in ADJECTIVES if a.before}
    bare = [(a, n) for e, _ in pairs for d, a, n in zip(e.split(), e.split()[1:], e.split()[2:])
            if a in before and n in NOUN_FORMS and NOUN_FORMS[n][1] and word_class(d) in ("verb", "preposition") and d != "without"]
    assert len(bare) > 100
    for a, n in bare[:50]:
        noun, form = NOUN_FORMS[n][0], 2 + (NOUN_FORMS[n][0].gender == "f")
        assert _seen(pairs, f"{a} {n}", f"de {before[a].fr[form]} {noun.fr_pl}"), (a, n)
    assert _seen(pairs, "without apples", "sans pommes") and not any(" sans des " in f for _, f in pairs)


def test_lengths_and_constructions_are_served():
    c = generate()
    assert Config(d_vocab=10).max_words == MAX_WORDS
    for split in (c.train, c.heldout):
        assert max(n_words(e) for e, _ in split) == MAX_WORDS  # the longest sentence accepted occurs
        assert all(n_words(e) <= MAX_WORDS and n_words(f) <= MAX_WORDS for e, f in split)
    assert [n_words(e) for e, _ in c.heldout] == [len(normalize(e)) for e, _ in c.heldout]
    # enough held-out sentences in every bucket and construction for `evaluate` to mean something
    for bucket in LENGTH_BUCKETS:
        assert sum(length_bucket(e) == bucket for e, _ in c.heldout) >= 500, bucket
    for construction in CONSTRUCTIONS:
        assert sum(construction in constructions(e) for e, _ in c.heldout) >= 500, construction
    assert constructions("the cat does not sleep on the bed in front of a house") == {"negation", "two prepositional phrases"}
    assert constructions("the cat does not take the box because it is too big") == {"negation", "coreference"}
    assert constructions("the cat and the dog sleep in the house") == {"coordination"}
    assert [length_bucket(s) for s in ("the cat sleeps", " ".join(["cat"] * 9), " ".join(["cat"] * 20))] == list(LENGTH_BUCKETS)


def test_examples_are_heldout_and_span_the_lengths():
    heldout = set(generate().heldout)
    ex = examples(6)
    assert len(ex) == 6 and set(ex) <= heldout
    assert {length_bucket(e) for e, _ in ex} == set(LENGTH_BUCKETS)
    assert [n_words(e) for e, _ in ex] == sorted(n_words(e) for e, _ in ex)


def test_normalize():
    assert normalize("The Black CAT eats, the small fish!") == ["the", "black", "cat", "eats", "the", "small", "fish"]
    assert normalize("  le   chat NOIR. ") == ["le", "chat", "noir"]
    assert normalize("\\input{x} $y$") == ["\\", "input", "{", "x", "}", "$", "y", "$"]
    # an elided French word is a token of its own; English "n't" reads as "not"
    assert normalize("La fille n'aime pas le gâteau") == ["la", "fille", "n'", "aime", "pas", "le", "gâteau"]
    assert normalize("elle n’écoute pas") == ["elle", "n'", "écoute", "pas"]
    assert normalize("The cat doesn't eat; the dogs DON'T") == ["the", "cat", "does", "not", "eat", "the", "dogs", "do", "not"]
    assert join_words(normalize("la fille n'aime pas le gâteau")) == "la fille n'aime pas le gâteau"


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
    error = tok.unknown_error(enc.unknown + ["blak"])
    assert "2 words" in error and "'blak' (did you mean black" in error and "\n" not in error
    with pytest.raises(InputError, match="'fsh'"):
        tok.check_known(enc, "sentence", None, False, warn=None)
    warned = []
    tok.check_known(enc, "sentence", None, True, warn=warned.append)
    assert warned == [warning]
    with pytest.raises(InputError, match="empty"):
        tok.encode("   ")
    with pytest.raises(InputError, match="the limit is 3"):
        tok.encode("a b c d", max_words=3)
    assert tok.decode(tok.encode("le chat noir").ids + [tok.eos_id, tok.stoi["chat"]]) == "le chat noir"
    enc = tok.encode("la fille n'aime pas le gâteau")
    assert enc.tokens[2:4] == ["n'", "aime"] and not enc.unknown
    assert tok.decode(enc.ids) == "la fille n'aime pas le gâteau"


def test_suggestions_come_from_the_input_language():
    tok = Tokenizer.load(VOCAB)
    en, fr = lexicon_words()
    assert set(tok.words_of("en")) == en and set(tok.words_of("fr")) == fr
    for word in ("banana", "chats", "poison", "blak", "mangez", "nott"):
        assert set(tok.suggestions(word, language="en")) <= en, word
        assert set(tok.suggestions(word, language="fr")) <= fr, word
    assert "black" in tok.suggestions("blak", language="en")
    assert "poisson" in tok.suggestions("poison", language="fr")
    warning = tok.unknown_warning(["banana"], language="en")
    assert not set(warning.replace(",", " ").replace("?", " ").split()) & (fr - en), warning
    with pytest.raises(InputError, match="language"):
        tok.words_of("de")
    # each language's words are known only in that language ("table" is both)
    enc = tok.encode("the poisson sleeps on the table", language="en")
    assert enc.tokens == ["the", UNK, "sleeps", "on", "the", "table"] and enc.unknown == ["poisson"]
    assert tok.encode("le chat dort sur la table", language="fr").unknown == []
    assert tok.encode("the poisson sleeps").unknown == []  # without a language: the whole vocabulary
