"""Random Unicode, markup and control characters at the tokenizer and `python -m model trace`:
a result or a one-line error, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.cli import main as model_main
from model.errors import InputError
from model.tokenizer import Tokenizer, normalize

MARKUP = st.sampled_from(["<b>", "</b>", "&amp;", "\\input{x}", "$", "%", "{", "}", "_", "^", "[MASK]", "n'", "'",
                          "\x00", "\x1b[31m", "\u202e", "\ufeff", "\t", "\n", "the", "cat", "chat", "é", "ß", "🐈"])
TEXT = st.lists(st.one_of(st.text(max_size=12), MARKUP), max_size=30).map(" ".join)


@pytest.fixture(scope="module")
def tok():
    from model import VOCAB

    return Tokenizer.load(VOCAB)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT)
def test_tokenizer_encodes_or_refuses(tok, text):
    try:
        enc = tok.encode(text, max_words=20)
    except InputError as e:
        assert "\n" not in str(e)
        return
    assert len(enc.ids) == len(enc.tokens) == len(normalize(text))
    assert all(0 <= i < len(tok) for i in enc.ids)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT, st.booleans())
def test_model_trace_command_writes_a_trace_or_one_line(tmp_path_factory, capsys, text, allow_unknown):
    out = tmp_path_factory.mktemp("trace") / "t.trace.npz"
    code = model_main(["trace", "--sentence", text, "--out", str(out)] + ["--allow-unknown"] * allow_unknown)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        from model.tracefile import Trace

        assert Trace.load(out).sentence == text
    else:
        assert code == 2 and not out.exists()
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, err
