"""Coreference in the corpus ("… because it is too heavy"), the torch-free reading of it that scenes use
(model/coref.py), word classes and genders (model/words.py), and the training record's reader (model/history.py)."""

import subprocess
import sys

import numpy as np
import pytest

from model.coref import (COREFERENCE_PAIR, COREFERENCE_SENTENCE, KIND, TWINS, choose_head, chosen_noun, find,
                         finds_its_noun, french_adjective, french_pronoun, noun_weights, offset, pronoun_gender,
                         pronoun_rows, strongest_noun, twin)
from model.corpus import (ADJECTIVE_FORMS, ANIMATE, BECAUSE, COREFERENCE_ADJECTIVES, HUMANS, NOUN_FORMS, PRONOUNS, THINGS,
                          VERB_FORMS, constructions, coreference, generate)
from model.errors import InputError
from model.tokenizer import join_words, normalize
from model.words import WORD_CLASSES, french_gender, word_class, word_classes

from .conftest import ROOT

PRONOUN_GENDER = {p: g for (g, _), p in PRONOUNS["fr"].items()}
PRONOUN_PLURAL = {p: pl for (_, pl), p in PRONOUNS["fr"].items()}


def _coreference_pairs():
    return [(e, f) for e, f in generate().train if "coreference" in constructions(e)]


def _french_tail(fr: str) -> tuple[str, str, str, str]:
    """(pronoun, verb, "trop", adjective) after "parce qu'" in a French sentence of the construction."""
    words = normalize(fr)
    i = next(i for i in range(len(words)) if words[i : i + 2] == list(BECAUSE[1]))
    assert len(words) == i + 6, fr  # the clause ends the sentence
    return tuple(words[i + 2 : i + 6])


def _np(words: str, french: str, plural: bool = False):
    return words.split(), french.split(), plural


def test_the_issues_examples_are_what_the_grammar_writes():
    cases = [
        (_np("the wolf", "le loup"), "holds", _np("the pen", "le stylo"), "heavy",
         "the wolf does not hold the pen because it is too heavy", "le loup ne tient pas le stylo parce qu'il est trop lourd"),
        (_np("the hen", "la poule"), "carries", _np("the bag", "le sac"), "tired",
         "the hen does not carry the bag because it is too tired", "la poule ne porte pas le sac parce qu'elle est trop fatiguée"),
        (_np("the hens", "les poules", True), "carries", _np("a bag", "de sac"), "tired",
         "the hens do not carry a bag because they are too tired", "les poules ne portent pas de sac parce qu'elles sont trop fatiguées"),
        (_np("the hen", "la poule"), "eats", _np("apples", "de pommes", True), "big",
         "the hen does not eat apples because they are too big", "la poule ne mange pas de pommes parce qu'elles sont trop grandes"),
    ]
    for subject, verb, obj, adjective, en, fr in cases:
        e, f = coreference(subject, VERB_FORMS[verb], obj, ADJECTIVE_FORMS[adjective])
        assert (" ".join(e), join_words(f)) == (en, fr)


def test_pronoun_verb_and_adjective_agree_with_the_referent():
    """For every adjective of both kinds, singular and plural, the French pronoun, verb and adjective are
    those of the noun the rule picks: the subject for an animal adjective, the object for a size one."""
    pairs = _coreference_pairs()
    assert len(pairs) >= 3000  # several thousand training sentences
    seen = set()
    for en, fr in pairs:
        c = find(en)
        assert c is not None and c.referent is not None, en
        adjective = c.words[c.adjective]
        assert c.role == ("subject" if adjective in COREFERENCE_ADJECTIVES["animal"] else "object"), en
        r = c.referent
        pronoun, verb, too, adj = _french_tail(fr)
        assert (PRONOUN_GENDER[pronoun], PRONOUN_PLURAL[pronoun]) == (r.gender, r.plural), (en, fr)
        assert pronoun == r.pronoun
        assert verb == ("sont" if r.plural else "est") and too == "trop", fr
        assert adj == ADJECTIVE_FORMS[adjective].fr[2 * r.plural + (r.gender == "f")] == french_adjective(c), (en, fr)
        assert c.words[c.pronoun] == ("they" if r.plural else "it") and c.words[c.pronoun + 1] == ("are" if r.plural else "is")
        seen.add((adjective, r.plural, r.gender))
    every = {(a, pl, g) for a in KIND for pl in (False, True) for g in "mf"}
    assert seen == every, every - seen


def test_subjects_are_animals_objects_things_and_genders_mostly_differ():
    pairs = _coreference_pairs()
    animals = {n.en for n in ANIMATE} - set(HUMANS)
    things = {n.en for n in THINGS}
    differ = 0
    for en, _ in pairs:
        c = find(en)
        assert NOUN_FORMS[c.subject.word][0].en in animals and NOUN_FORMS[c.object.word][0].en in things, en
        assert len(c.nouns) == 2, en
        differ += c.subject.gender != c.object.gender
    assert 0.6 < differ / len(pairs) < 0.9  # mostly differ, so the pronoun tells which noun was chosen


def test_parce_que_is_elided_before_the_pronoun():
    for en, fr in _coreference_pairs()[:500]:
        assert " parce qu'" in fr and "parce que" not in fr, fr
        assert normalize(fr)[normalize(fr).index("parce") + 1] == "qu'"
        assert join_words(normalize(fr)) == fr  # the tokenizer splits "qu'il" and writes it back


def test_the_construction_stays_within_the_limits_and_others_keep_working():
    c = generate()
    assert all(len(normalize(f)) <= 20 for _, f in c.train)
    assert sum("coreference" in constructions(e) for e, _ in c.heldout) >= 300
    assert constructions(COREFERENCE_SENTENCE) == {"negation", "coreference"}
    assert find("the cat does not eat the fish") is None and find("the cat sleeps because") is None


def test_find_reads_the_construction():
    c = find("The Duck does not push the table because it is too heavy.")
    assert c.words[c.pronoun] == "it" and c.words[c.adjective] == "heavy"
    assert (c.subject.index, c.subject.word, c.subject.gender, c.subject.plural, c.subject.animate) == (1, "duck", "m", False, True)
    assert (c.object.index, c.object.word, c.object.gender, c.object.animate) == (6, "table", "f", False)
    assert c.nouns == (1, 6) and c.kind == "thing" and c.role == "object" and c.referent.pronoun == "elle"
    c = find("these small hens do not look at a box because they are too tired")
    assert c.subject.word == "hens" and c.subject.plural and c.object.word == "box" and c.role == "subject"
    assert c.referent.pronoun == "elles" and french_adjective(c) == "fatiguées"
    # outside the grammar: two animals, both fit "tired", and the pronoun's number decides
    assert find("the ducks do not follow the cat because it is too tired").referent.word == "cat"
    assert find("the duck does not follow the cat because it is too tired").referent is None


def test_reading_the_translations_pronoun():
    c = find(COREFERENCE_SENTENCE)
    assert french_pronoun("le canard ne pousse pas la table parce qu'elle est trop lourde") == "elle"
    assert chosen_noun(c, "le canard ne pousse pas la table parce qu'elle est trop lourde") == c.object
    assert chosen_noun(c, "le canard ne pousse pas la table parce qu’il est trop lourd") == c.subject  # either apostrophe
    assert chosen_noun(c, "le canard ne pousse pas la table") is None and french_pronoun("il est") is None
    same = find("the duck does not push the bag because it is too heavy")  # canard, sac: both masculine
    assert chosen_noun(same, "le canard ne pousse pas le sac parce qu'il est trop lourd") is None
    assert [pronoun_gender(p) for p in ("il", "ils", "elle", "elles", "le")] == ["m", "m", "f", "f", None]
    assert COREFERENCE_PAIR == (COREFERENCE_SENTENCE, twin(COREFERENCE_SENTENCE))
    assert {find(s).role for s in COREFERENCE_PAIR} == {"subject", "object"}


def test_twin_swaps_the_adjective_and_moves_the_referent():
    assert TWINS == {TWINS[b]: b for b in TWINS}  # a pairing, both ways
    assert all(KIND[a] != KIND[TWINS[a]] for a in TWINS)
    assert twin(COREFERENCE_SENTENCE) == COREFERENCE_SENTENCE.replace("heavy", "tired")
    for en, _ in _coreference_pairs()[:2000]:
        c, t = find(en), find(twin(en))
        assert twin(twin(en)) == " ".join(c.words)
        assert len(t.words) == len(c.words) and t.pronoun == c.pronoun and t.adjective == c.adjective
        differs = [i for i, (a, b) in enumerate(zip(c.words, t.words)) if a != b]
        assert c.adjective in differs and set(differs) <= {c.pronoun, c.pronoun + 1, c.adjective}, (en, twin(en))
        assert {c.role, t.role} == {"subject", "object"}
        assert t.words[t.pronoun] == ("they" if t.referent.plural else "it")  # "it"/"they" follow the new referent
    with pytest.raises(InputError, match="because it is too"):
        twin("the cat sleeps")


def test_choose_head_never_reads_the_referent():
    """On made-up patterns: the head whose 'it' row moves between the nouns from sentence to twin is chosen,
    whichever noun is the referent; a row finds its noun where its largest noun weight is on the referent."""
    c = find(COREFERENCE_SENTENCE)  # 12 words; as in a translator trace, then <eos>
    rng = np.random.default_rng(0)
    L, H, S = 2, 2, len(c.words) + 1
    layers = [rng.dirichlet(np.ones(S), size=(H, S)) for _ in range(L)]
    twins = [p.copy() for p in layers]
    s, o = c.subject.index, c.object.index
    layers[1][0, c.pronoun, [s, o]] = [0.6, 0.1]
    twins[1][0, c.pronoun, [s, o]] = [0.1, 0.6]  # layer 1 head 0 moves from one noun to the other: a change of 1.0
    twins[0][1, c.pronoun, [s, o]] = layers[0][1, c.pronoun, [s, o]] + [0.05, -0.05]  # a small change elsewhere
    rows, twin_rows = pronoun_rows(layers, c), pronoun_rows(twins, c)
    assert rows.shape == (L, H, S)
    assert choose_head(rows, twin_rows, c) == (1, 0)
    assert choose_head(twin_rows, rows, c) == (1, 0)  # symmetric: no side is the answer
    np.testing.assert_array_equal(noun_weights(rows, c)[1, 0], layers[1][0, c.pronoun, [s, o]])
    row = np.zeros(S)
    row[[s, o]] = [0.2, 0.7]
    assert strongest_noun(row, c) == o and finds_its_noun(row, c)
    row[s] = 0.9
    assert not finds_its_noun(row, c)
    shifted = np.concatenate([[0.0], row])  # a stack that starts with [CLS] or <bos>
    assert offset(["[CLS]", "the"]) == 1 and offset(["the"]) == 0
    assert strongest_noun(shifted, c, shift=1) == s


def test_word_classes_and_genders():
    from model.corpus import lexicon_words

    en, _ = lexicon_words()
    assert all(word_class(w) in WORD_CLASSES for w in en)  # every English word of the grammar has one class
    assert set(WORD_CLASSES) == {word_class(w) for w in en}
    assert word_class("banana") is None and word_class("chat") is None
    assert word_classes(COREFERENCE_SENTENCE) == ["determiner", "noun", "auxiliary", "adverb", "verb", "determiner", "noun",
                                                  "conjunction", "pronoun", "verb", "adverb", "adjective"]
    assert word_classes("my old horses look for a heavy box in front of the house")[3:5] == ["verb", "preposition"]
    for noun in ANIMATE + THINGS:
        assert french_gender(noun.en) == french_gender(noun.en_pl) == noun.gender
        assert word_class(noun.en) == "noun"
    assert french_gender("table") == "f" and french_gender("Ducks") == "m" and french_gender("heavy") is None
    for adjective in KIND:
        assert word_class(adjective) == "adjective"


def test_the_torch_free_modules_load_no_torch():
    """Scenes call these: they must not pull in PyTorch."""
    code = "import sys, model.coref, model.words, model.history; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
