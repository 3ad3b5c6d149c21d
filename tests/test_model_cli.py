"""`python -m model …` as a user types it, bad input included."""

import re

import numpy as np

from model.tracefile import Trace

from .conftest import model_cli, run_cli


def test_translate():
    """As its own process, as a user runs it; the other command lines run in the test's (`model_cli`)."""
    r = run_cli("-m", "model", "translate", "the black cat eats the small fish")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "le chat noir mange le petit poisson"


def test_capitals_and_punctuation_are_normalised():
    r = model_cli("translate", "The Black CAT eats the small fish!")
    assert r.returncode == 0 and r.stdout.strip() == "le chat noir mange le petit poisson"
    assert r.stderr == ""


def test_translate_negation_and_coordination():
    """The issue's own examples (issue 9): "ne … pas" around the verb, "n'" before a vowel, "et"."""
    cases = {
        "the cat does not eat the fish": "le chat ne mange pas le poisson",
        "the girl does not like the cake": "la fille n'aime pas le gâteau",
        "The girl doesn't like the cake.": "la fille n'aime pas le gâteau",
        "the cat and the dog eat": "le chat et le chien mangent",
    }
    for en, fr in cases.items():
        r = model_cli("translate", en)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.strip() == fr, en


def test_translate_coreference():
    """The issue's acceptance sentences: the adjective decides which noun "it" is, and French says which."""
    from model.coref import COREFERENCE_SENTENCE, twin

    cases = {
        COREFERENCE_SENTENCE: "le canard ne pousse pas la table parce qu'elle est trop lourde",
        twin(COREFERENCE_SENTENCE): "le canard ne pousse pas la table parce qu'il est trop fatigué",
        "the rabbit does not take the bottle because it is too big": "le lapin ne prend pas la bouteille parce qu'elle est trop grande",
    }
    for en, fr in cases.items():
        r = model_cli("translate", en)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.strip() == fr, en


def test_vocab_lists_words():
    r = model_cli("vocab")
    words = r.stdout.split()
    assert r.returncode == 0 and "cat" in words and "chat" in words and "<pad>" not in words
    en = model_cli("vocab", "--language", "en").stdout.split()
    fr = model_cli("vocab", "--language", "fr").stdout.split()
    assert {"cat", "not", "and"} <= set(en) and not {"chat", "pas", "et"} & set(en)
    assert {"chat", "ne", "n'", "pas", "et"} <= set(fr) and not {"cat", "not"} & set(fr)
    assert sorted(set(en) | set(fr)) == sorted(words)
    _assert_clean_failure(model_cli("vocab", "--language", "de"), "de")


def test_examples_are_sentences_the_model_knows():
    r = model_cli("examples", "--n", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("    → ") for line in lines[1::2])
    vocab = set(model_cli("vocab", "--language", "en").stdout.split())
    for en in lines[::2]:
        assert set(en.split()) <= vocab, en


def test_trace_default_and_with_target(tmp_path):
    out = tmp_path / "t.trace.npz"
    r = model_cli("trace", "--model", "translator", "--out", str(out))
    assert r.returncode == 0, r.stderr
    t = Trace.load(out)
    assert t.tokens("decoder")[1:] == t.output.split()
    out2 = tmp_path / "u.trace.npz"
    r = model_cli("trace", "--sentence", "the cat sleeps", "--target", "Le chien dort.", "--out", str(out2))
    assert r.returncode == 0, r.stderr
    u = Trace.load(out2)
    assert u.tokens("decoder") == ["<bos>", "le", "chien", "dort"]
    assert u.output == "le chat dort"


def _assert_clean_failure(r, *words, out=None):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    if out is not None:
        assert list(out.parent.iterdir()) == [], "a failure must leave no file behind"
    return lines[0]


def test_empty_and_blank_sentences(tmp_path):
    out = tmp_path / "t.trace.npz"
    for s in ("", "   ", "?!"):
        _assert_clean_failure(model_cli("trace", "--sentence", s, "--out", str(out)), "empty", out=out)
    _assert_clean_failure(model_cli("translate", " "), "empty")


def test_too_long_sentence_names_the_limit(tmp_path):
    out = tmp_path / "t.trace.npz"
    long = " ".join(["the cat sleeps"] * 8)
    _assert_clean_failure(model_cli("trace", "--sentence", long, "--out", str(out)), "24 words", "limit is 20", out=out)
    _assert_clean_failure(model_cli("trace", "--target", long, "--out", str(out)), "target", "limit", out=out)


def test_empty_target(tmp_path):
    out = tmp_path / "t.trace.npz"
    _assert_clean_failure(model_cli("trace", "--target", " . ", "--out", str(out)), "target", "empty", out=out)


def test_unknown_words_stop_with_their_names_and_where_to_look(tmp_path):
    """A word the model never saw stops the command (issue 15): one line naming each unknown word with the
    closest known ones, and where to see what the model knows; nothing is written."""
    out = tmp_path / "t.trace.npz"
    r = model_cli("trace", "--sentence", "the blak cat eats the fsh", "--out", str(out))
    line = _assert_clean_failure(r, "'blak'", "black", "'fsh'", "fish", "python -m model vocab",
                                 "python -m model examples", "--allow-unknown", out=out)
    assert "warning" not in line
    r = model_cli("trace", "--target", "le chat mange le poison", "--out", str(out))
    _assert_clean_failure(r, "target", "'poison'", "poisson", out=out)
    words = "hi how are you".split()  # the seed video's own sentence
    unknown = [w for w in words if w not in _vocab("en")]
    line = _assert_clean_failure(model_cli("translate", " ".join(words)), *(f"'{w}'" for w in unknown))
    assert f"these {len(unknown)} words" in line and not any(f"'{w}'" in line for w in set(words) - set(unknown))


def test_allow_unknown_reads_them_as_unk_with_a_warning(tmp_path):
    out = tmp_path / "t.trace.npz"
    r = model_cli("trace", "--sentence", "the blak cat eats the fsh", "--target", "le chat mange le poison",
                "--allow-unknown", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "'blak'" in r.stderr and "black" in r.stderr and "'fsh'" in r.stderr and "'poison'" in r.stderr
    assert "poisson" in r.stderr
    t = Trace.load(out)
    assert t.tokens("encoder") == ["the", "<unk>", "cat", "eats", "the", "<unk>", "<eos>"]
    assert t.tokens("decoder") == ["<bos>", "le", "chat", "mange", "le", "<unk>"]
    # each attention row is a distribution: a float32 sum of ~7 terms is 1 to within a few ulps on any CPU
    np.testing.assert_allclose(t["decoder.blocks.1.cross_attn.hook_pattern"].sum(-1), 1, atol=1e-5)


def _vocab(language: str) -> set[str]:
    return set(model_cli("vocab", "--language", language).stdout.split())


def test_unknown_words_are_matched_in_their_own_language():
    """An English sentence gets English suggestions, a French target French ones."""
    r = model_cli("translate", "the cat eats a banana")
    assert r.returncode == 2, r.stderr
    en, fr = _vocab("en"), _vocab("fr")
    assert "'banana' (did you mean" in r.stderr  # before issue 9: "bonne, blanc, nagent"
    suggested = re.findall(r"did you mean ([^?]*)\?", r.stderr)
    assert suggested and not {w.strip() for s in suggested for w in s.split(",")} & (fr - en), r.stderr
    # a French word in the English sentence: the encoder never learnt it, so it is unknown there
    r = model_cli("translate", "the cat eats the poisson", "--allow-unknown")
    assert r.returncode == 0 and "'poisson'" in r.stderr and "(did you mean poisson" not in r.stderr, r.stderr


def test_usage_errors_are_one_line(tmp_path):
    _assert_clean_failure(model_cli("trace", "--model", "nope", "--out", "x.trace.npz"), "nope")
    _assert_clean_failure(model_cli("trace", "--out", str(tmp_path / "x.txt")), ".trace.npz", out=tmp_path / "x.txt")
    _assert_clean_failure(model_cli("frobnicate"), "frobnicate")


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    _assert_clean_failure(model_cli("trace", "--out", str(blocker / "t.trace.npz")))


def test_bert_and_gpt_traces(tmp_path):
    out = tmp_path / "b.trace.npz"
    r = model_cli("trace", "--model", "bert", "--sentence", "the [MASK] cat sleeps", "--out", str(out))
    assert r.returncode == 0, r.stderr
    t = Trace.load(out)
    assert t.model == "bert" and t.tokens("encoder") == ["[CLS]", "the", "[MASK]", "cat", "sleeps", "[SEP]"]
    assert list(t.meta["tokens"]) == ["encoder"]
    out = tmp_path / "g.trace.npz"
    r = model_cli("trace", "--model", "gpt", "--sentence", "The black cat", "--out", str(out))
    assert r.returncode == 0, r.stderr
    t = Trace.load(out)
    assert t.model == "gpt" and list(t.meta["tokens"]) == ["decoder"]
    assert t.tokens("decoder")[:4] == ["<bos>", "the", "black", "cat"]
    assert r.stdout.splitlines()[0] == f"The black cat → {t.output}"


def test_bert_needs_a_mask(tmp_path):
    out = tmp_path / "t.trace.npz"
    _assert_clean_failure(model_cli("trace", "--model", "bert", "--sentence", "the cat sleeps", "--out", str(out)),
                          "[MASK]", "--mask-word", out=out)
    _assert_clean_failure(model_cli("trace", "--model", "bert", "--sentence", "the cat sleeps", "--mask-word", "dog",
                                  "--out", str(out)), "'dog'", "not a word", out=out)
    r = model_cli("trace", "--model", "bert", "--sentence", "the cat sleeps", "--mask-word", "Cat", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert Trace.load(out).tokens("encoder") == ["[CLS]", "the", "[MASK]", "sleeps", "[SEP]"]


def test_family_option_mixups_are_one_line(tmp_path):
    out = tmp_path / "t.trace.npz"
    _assert_clean_failure(model_cli("trace", "--model", "gpt", "--sentence", "the [MASK] sleeps", "--out", str(out)),
                          "[MASK]", "bert", out=out)
    _assert_clean_failure(model_cli("trace", "--model", "gpt", "--mask-word", "cat", "--out", str(out)), "bert", out=out)
    _assert_clean_failure(model_cli("trace", "--model", "bert", "--target", "le chat", "--out", str(out)), "--target", out=out)
    _assert_clean_failure(model_cli("translate", "--model", "gpt", "the cat"), "translat")
    for command in ("train", "evaluate"):
        _assert_clean_failure(model_cli(command, "--model", "roberta"), "roberta")
