"""The traces of all three models: names and shapes per CONTRACT, every recorded tensor consistent with the others.

The consistency checks recompute each step in NumPy from the trace's own parameters and
inputs, independently of model/transformer.py.

How close is close (issue 15): each step is recomputed in float64 from the trace's own float32
inputs, so what differs is the float32 rounding of the model's arithmetic, a few ulps of the
values it sums (float32's eps is 1.2e-7), and more where a LayerNorm divides by a small spread.
Another CPU runs other float32 kernels (AVX-512 or AVX2, other summation orders), so a test
must not ask for less than that anywhere. `close` allows TOL of the tensor's scale (its largest
magnitude, at least 1): about 170 float32 ulps at that scale, far above what any kernel's order
changes, and 500 times finer than the two decimals a scene shows. Exact equality is asked only
where the model copies (a residual passed on, an embedding looked up) and for ids and masks.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from model.tracefile import Trace

SNAPSHOTS = Path(__file__).parent / "snapshots"
TOL = 2e-5  # of a tensor's scale: see the module's docstring
LN_TOL = 1e-4  # after a LayerNorm's division by the row's spread
MODELS = ("translator", "bert", "gpt")
STACKS = {"translator": ["encoder", "decoder"], "bert": ["encoder"], "gpt": ["decoder"]}
HEAD = {"translator": "unembed", "bert": "mlm", "gpt": "unembed"}


@pytest.fixture(params=MODELS)
def any_trace(request):
    """The default trace of each model (the session fixtures of conftest.py)."""
    return request.getfixturevalue({"translator": "trace", "bert": "bert_trace", "gpt": "gpt_trace"}[request.param])


# What a trace recorded with a snapshot of the translator's training adds (`record(snapshot=STEP)`): the loss
# curve up to that step, one entry per logged step (model/history.py: `curve_until`).
SNAPSHOT_NAMES = {"training.step", "training.loss"}


def contract_names(model: str, n_layers: dict[str, int], snapshot: bool = False) -> set[str]:
    """Every hook and parameter name CONTRACT.md lists for `model` with `n_layers` per stack (`snapshot`: a trace
    recorded with a snapshot of the translator's training, which adds SNAPSHOT_NAMES)."""
    attn_hooks = ["hook_q", "hook_k", "hook_v", "hook_scores", "hook_scores_scaled", "hook_mask", "hook_pattern", "hook_z", "hook_out"]
    attn_params = ["W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O"]
    ln_hooks = ["hook_mean", "hook_var", "hook_normalized", "hook_out"]
    mlp_hooks = ["hook_pre", "hook_post", "hook_out"]
    head = HEAD[model]
    names = {"param.W_pos", f"param.{head}.W_U", f"param.{head}.b_U", f"{head}.hook_logits", f"{head}.hook_probs"}
    encoder_block = (["self_attn"], ["ln1", "ln2"], ["attn_sum", "mlp_sum"])
    decoder_block = (["self_attn", "cross_attn"], ["ln1", "ln2", "ln3"], ["attn_sum", "cross_sum", "mlp_sum"])
    assert list(n_layers) == STACKS[model]
    for stack, n in n_layers.items():
        # gpt's decoder is built of encoder blocks (its self-attention causal): no cross-attention
        attns, lns, sums = decoder_block if (model, stack) == ("translator", "decoder") else encoder_block
        names |= {f"param.{stack}.W_E", f"{stack}.hook_out"}
        names |= {f"{stack}.hook_{h}" for h in ("tokens", "embed", "embed_scaled", "pos_embed", "input")}
        for i in range(n):
            b = f"{stack}.blocks.{i}"
            names |= {f"{b}.hook_{h}" for h in ["resid_pre", "resid_post"] + sums}
            for a in attns:
                names |= {f"{b}.{a}.{h}" for h in attn_hooks} | {f"param.{b}.{a}.{p}" for p in attn_params}
            for ln in lns:
                names |= {f"{b}.{ln}.{h}" for h in ln_hooks} | {f"param.{b}.{ln}.{p}" for p in ("w", "b")}
            names |= {f"{b}.mlp.{h}" for h in mlp_hooks}
            names |= {f"param.{b}.mlp.{p}" for p in ("W_in", "b_in", "W_out", "b_out")}
    if snapshot:
        assert model == "translator", "snapshots are the translator's"
        names |= SNAPSHOT_NAMES
    return names


def expected_shape(name: str, cfg: dict, S: int, P: int, logged: int = 0) -> tuple:
    """The shape CONTRACT.md gives `name`, for S source and P target positions (and `logged` steps of the loss
    curve, in a snapshot's trace)."""
    D, H, E, F, V = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_ff"], cfg["d_vocab"]
    if name in SNAPSHOT_NAMES:
        return (logged,)
    if name.startswith("param."):
        leaf = name.split(".")[-1]
        table = {"W_E": (V, D), "W_Q": (H, D, E), "W_K": (H, D, E), "W_V": (H, D, E), "b_Q": (H, E), "b_K": (H, E),
                 "b_V": (H, E), "W_O": (H, E, D), "b_O": (D,), "w": (D,), "b": (D,), "W_in": (D, F), "b_in": (F,),
                 "W_out": (F, D), "b_out": (D,), "W_U": (D, V), "b_U": (V,)}
        return (32, D) if name == "param.W_pos" else table[leaf]
    if name.startswith("unembed."):
        return (P, V)
    if name.startswith("mlm."):
        return (S, V)
    q = S if name.startswith("encoder") else P
    k = S if (name.startswith("encoder") or "cross_attn" in name) else P
    leaf = name.split(".")[-1]
    if ".mlp." in name:
        return (q, F) if leaf in ("hook_pre", "hook_post") else (q, D)
    if "_attn." in name:
        return {"hook_q": (H, q, E), "hook_k": (H, k, E), "hook_v": (H, k, E), "hook_scores": (H, q, k),
                "hook_scores_scaled": (H, q, k), "hook_mask": (q, k), "hook_pattern": (H, q, k), "hook_z": (H, q, E),
                "hook_out": (q, D)}[leaf]
    if leaf in ("hook_mean", "hook_var", "hook_tokens"):
        return (q,)
    return (q, D)


def test_names_match_contract_and_snapshot(any_trace):
    trace = any_trace
    names = set(trace.arrays)
    assert names == contract_names(trace.model, trace.config["n_layers"])
    snapshot = SNAPSHOTS / f"{trace.model}_trace_names.txt"
    assert sorted(names) == snapshot.read_text().split(), "names changed: update CONTRACT.md and the snapshot together"


def test_shapes_and_dtypes_match_contract(any_trace):
    trace = any_trace
    S, P = (len(trace.meta["tokens"].get(stack, [])) for stack in ("encoder", "decoder"))
    if trace.model == "translator":
        assert S != P, "the default sentence should give a non-square cross-attention"
    check_shapes_and_dtypes(trace)


def check_shapes_and_dtypes(trace: Trace) -> None:
    S, P = (len(trace.meta["tokens"].get(stack, [])) for stack in ("encoder", "decoder"))
    logged = len(trace["training.step"]) if "training.step" in trace else 0
    for name, arr in trace.arrays.items():
        assert arr.shape == expected_shape(name, trace.config, S, P, logged), name
        if name.endswith("hook_tokens") or name == "training.step":
            assert arr.dtype == np.int64
        elif name.endswith("hook_mask"):
            assert arr.dtype == np.bool_
        else:
            assert arr.dtype == np.float32, name


def test_meta(any_trace):
    from model.train import load

    trace = any_trace
    model, tok = load(trace.model)
    meta = trace.meta
    assert set(meta) == {"model", "config", "tokens", "sentence", "output", "step"}
    assert meta["step"] == model.step > 0  # the final weights: how many updates they had
    assert set(meta["config"]) == {"d_model", "n_heads", "d_head", "d_ff", "n_layers", "d_vocab", "eps"}
    assert meta["config"]["d_model"] <= 16 and meta["config"]["n_heads"] == 2
    assert list(meta["tokens"]) == list(meta["config"]["n_layers"]) == STACKS[trace.model]
    for stack in STACKS[trace.model]:
        ids = trace[f"{stack}.hook_tokens"]
        assert [tok.itos[i] for i in ids] == meta["tokens"][stack]
    if trace.model == "translator":
        assert meta["tokens"]["encoder"][-1] == "<eos>" and meta["tokens"]["decoder"][0] == "<bos>"
        assert meta["tokens"]["decoder"][1:] == meta["output"].split()  # no --target: the decoder reads its own output
    elif trace.model == "bert":
        tokens = meta["tokens"]["encoder"]
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "[MASK]" in tokens
        assert meta["sentence"].split() == tokens[1:-1]  # the default sentence has its [MASK] written in
    else:
        tokens = meta["tokens"]["decoder"]
        assert tokens[0] == "<bos>" and tokens[1:] == meta["sentence"].split() + meta["output"].split()


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def close(actual, expected, tol: float = TOL) -> None:
    """`actual` (float32, from the trace) equals the float64 reference to `tol` of the reference's scale."""
    expected = f64(expected)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale)


def _ln(x, w, b, eps):
    x, w, b = f64(x), f64(w), f64(b)
    mean = x.mean(-1)
    var = x.var(-1)
    norm = (x - mean[:, None]) / np.sqrt(var[:, None] + eps)
    return mean, var, norm, norm * w + b


def _softmax(x):
    x = f64(x)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def check_attention(t: Trace, p: str, x_q: np.ndarray, x_kv: np.ndarray, causal: bool):
    W = {k: f64(t.param(f"{p}.{k}")) for k in ("W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O")}
    x_q, x_kv = f64(x_q), f64(x_kv)
    q = np.einsum("pd,hde->hpe", x_q, W["W_Q"]) + W["b_Q"][:, None]
    k = np.einsum("sd,hde->hse", x_kv, W["W_K"]) + W["b_K"][:, None]
    v = np.einsum("sd,hde->hse", x_kv, W["W_V"]) + W["b_V"][:, None]
    close(t[f"{p}.hook_q"], q)
    close(t[f"{p}.hook_k"], k)
    close(t[f"{p}.hook_v"], v)
    scores = f64(t[f"{p}.hook_q"]) @ f64(t[f"{p}.hook_k"]).transpose(0, 2, 1)
    close(t[f"{p}.hook_scores"], scores)
    d_head = t.config["d_head"]
    close(t[f"{p}.hook_scores_scaled"], t[f"{p}.hook_scores"] / math.sqrt(d_head))
    mask = t[f"{p}.hook_mask"]
    expected_mask = np.triu(np.ones(mask.shape, bool), 1) if causal else np.zeros(mask.shape, bool)
    np.testing.assert_array_equal(mask, expected_mask)
    pattern = t[f"{p}.hook_pattern"]
    close(pattern.sum(-1), 1.0)
    assert (pattern[:, mask] == 0.0).all(), "blocked cells must be exact zeros"
    ref = _softmax(np.where(mask, -np.inf, t[f"{p}.hook_scores_scaled"]))
    close(pattern, ref)
    z = t[f"{p}.hook_z"]
    close(z, f64(pattern) @ f64(t[f"{p}.hook_v"]))
    close(t[f"{p}.hook_out"], np.einsum("hpe,hed->pd", z, W["W_O"]) + W["b_O"])


def check_ln(t: Trace, p: str, x: np.ndarray):
    mean, var, norm, out = _ln(x, t.param(f"{p}.w"), t.param(f"{p}.b"), t.config["eps"])
    close(t[f"{p}.hook_mean"], mean)
    close(t[f"{p}.hook_var"], var, LN_TOL)
    close(t[f"{p}.hook_normalized"], norm, LN_TOL)
    close(t[f"{p}.hook_out"], out, LN_TOL)


def check_mlp(t: Trace, p: str, x: np.ndarray):
    pre = f64(x) @ f64(t.param(f"{p}.W_in")) + f64(t.param(f"{p}.b_in"))
    close(t[f"{p}.hook_pre"], pre)
    np.testing.assert_array_equal(t[f"{p}.hook_post"], np.maximum(t[f"{p}.hook_pre"], 0))
    out = f64(t[f"{p}.hook_post"]) @ f64(t.param(f"{p}.W_out")) + f64(t.param(f"{p}.b_out"))
    close(t[f"{p}.hook_out"], out)


def test_embedding_and_positions(any_trace):
    check_embedding(any_trace)


def check_embedding(trace: Trace) -> None:
    d_model = trace.config["d_model"]
    for stack in STACKS[trace.model]:
        tokens = trace[f"{stack}.hook_tokens"]
        np.testing.assert_array_equal(trace[f"{stack}.hook_embed"], trace.param(f"{stack}.W_E")[tokens])
        close(trace[f"{stack}.hook_embed_scaled"], trace[f"{stack}.hook_embed"] * math.sqrt(d_model))
        np.testing.assert_array_equal(trace[f"{stack}.hook_pos_embed"], trace.param("W_pos")[: len(tokens)])
        close(trace[f"{stack}.hook_input"], trace[f"{stack}.hook_embed_scaled"] + trace[f"{stack}.hook_pos_embed"])


@pytest.mark.parametrize("model", MODELS)
def test_position_table_is_the_papers_formula(model, request):
    trace = request.getfixturevalue({"translator": "trace", "bert": "bert_trace", "gpt": "gpt_trace"}[model])
    table = trace.param("W_pos")
    d = table.shape[1]
    for pos in range(table.shape[0]):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def check_encoder_style_stack(trace: Trace, stack: str, causal: bool) -> np.ndarray:
    """The translator's and bert's encoder (bidirectional), gpt's decoder (causal): returns the stack's output."""
    n = trace.config["n_layers"][stack]
    x = trace[f"{stack}.hook_input"]
    for i in range(n):
        b = f"{stack}.blocks.{i}"
        np.testing.assert_array_equal(trace[f"{b}.hook_resid_pre"], x)
        check_attention(trace, f"{b}.self_attn", x, x, causal=causal)
        close(trace[f"{b}.hook_attn_sum"], x + trace[f"{b}.self_attn.hook_out"])
        check_ln(trace, f"{b}.ln1", trace[f"{b}.hook_attn_sum"])
        h = trace[f"{b}.ln1.hook_out"]
        check_mlp(trace, f"{b}.mlp", h)
        close(trace[f"{b}.hook_mlp_sum"], h + trace[f"{b}.mlp.hook_out"])
        check_ln(trace, f"{b}.ln2", trace[f"{b}.hook_mlp_sum"])
        np.testing.assert_array_equal(trace[f"{b}.hook_resid_post"], trace[f"{b}.ln2.hook_out"])
        x = trace[f"{b}.hook_resid_post"]
    np.testing.assert_array_equal(trace[f"{stack}.hook_out"], x)
    return x


def check_head(trace: Trace, head: str, x: np.ndarray):
    logits = f64(x) @ f64(trace.param(f"{head}.W_U")) + f64(trace.param(f"{head}.b_U"))
    close(trace[f"{head}.hook_logits"], logits)
    close(trace[f"{head}.hook_probs"], _softmax(trace[f"{head}.hook_logits"]))


def test_encoder_chain(trace):
    check_encoder_style_stack(trace, "encoder", causal=False)


def test_bert_chain_and_output(bert_trace):
    t = bert_trace
    check_head(t, "mlm", check_encoder_style_stack(t, "encoder", causal=False))
    # the output is the sentence with each [MASK] replaced by the top guess at its position
    tokens = t.tokens("encoder")[1:-1]
    guesses = t["mlm.hook_probs"].argmax(-1)[1:-1]
    words = t.output.split()
    assert len(words) == len(tokens)
    from model.train import load

    _, tok = load("bert")
    for token, guess, word in zip(tokens, guesses, words):
        assert word == (tok.itos[guess] if token == "[MASK]" else token)


def test_gpt_chain_and_output(gpt_trace):
    from model.families import MAX_NEW_WORDS
    from model.train import load

    t = gpt_trace
    check_head(t, "unembed", check_encoder_style_stack(t, "decoder", causal=True))
    # row t predicts token t+1: over the continuation, each argmax is the word gpt wrote next,
    # and the last row predicts <eos> unless the continuation reached its length limit
    _, tok = load("gpt")
    n_prompt = 1 + len(t.sentence.split())
    ids = list(t["decoder.hook_tokens"])
    predicted = list(t["unembed.hook_probs"].argmax(-1))
    assert predicted[n_prompt - 1 : -1] == ids[n_prompt:]
    assert t.output.split() == [tok.itos[i] for i in ids[n_prompt:]]
    if len(ids) - n_prompt < MAX_NEW_WORDS:
        assert predicted[-1] == tok.eos_id


def test_decoder_chain_and_output(trace, translator):
    check_decoder_chain(trace)
    # row t predicts token t+1: teacher-forced on the model's own greedy output, so each argmax is the next token,
    # and the last row predicts <eos> unless greedy decoding stopped at its length limit
    model, tok = translator
    ids = list(trace["decoder.hook_tokens"][1:])
    predicted = list(trace["unembed.hook_probs"].argmax(-1))
    assert predicted[:-1] == ids
    assert predicted[-1] == tok.eos_id or len(ids) == model.cfg.max_words  # ended, or cut at the limit


def check_decoder_chain(trace: Trace) -> None:
    """The translator's decoder, every step recomputed from the trace's own inputs, through to its probabilities."""
    n = trace.config["n_layers"]["decoder"]
    memory = trace["encoder.hook_out"]
    x = trace["decoder.hook_input"]
    for i in range(n):
        b = f"decoder.blocks.{i}"
        np.testing.assert_array_equal(trace[f"{b}.hook_resid_pre"], x)
        check_attention(trace, f"{b}.self_attn", x, x, causal=True)
        close(trace[f"{b}.hook_attn_sum"], x + trace[f"{b}.self_attn.hook_out"])
        check_ln(trace, f"{b}.ln1", trace[f"{b}.hook_attn_sum"])
        h = trace[f"{b}.ln1.hook_out"]
        # cross-attention: queries from the decoder (ln1 out), keys and values from the encoder's output
        check_attention(trace, f"{b}.cross_attn", h, memory, causal=False)
        close(trace[f"{b}.hook_cross_sum"], h + trace[f"{b}.cross_attn.hook_out"])
        check_ln(trace, f"{b}.ln2", trace[f"{b}.hook_cross_sum"])
        h = trace[f"{b}.ln2.hook_out"]
        check_mlp(trace, f"{b}.mlp", h)
        close(trace[f"{b}.hook_mlp_sum"], h + trace[f"{b}.mlp.hook_out"])
        check_ln(trace, f"{b}.ln3", trace[f"{b}.hook_mlp_sum"])
        np.testing.assert_array_equal(trace[f"{b}.hook_resid_post"], trace[f"{b}.ln3.hook_out"])
        x = trace[f"{b}.hook_resid_post"]
    np.testing.assert_array_equal(trace["decoder.hook_out"], x)
    check_head(trace, "unembed", x)


def test_round_trip(any_trace, tmp_path):
    trace = any_trace
    path = tmp_path / "x.trace.npz"
    trace.save(path)
    back = Trace.load(path)
    assert back.meta == trace.meta
    assert set(back.arrays) == set(trace.arrays)
    for k, v in trace.arrays.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)
    with np.load(path) as raw:  # plain NumPy reads it too, meta as JSON text
        assert json.loads(str(raw["meta.json"][()]))["model"] == trace.model
    assert [p.name for p in tmp_path.iterdir()] == ["x.trace.npz"]  # no temporary file left behind


@pytest.mark.parametrize("model", ["translator", "gpt"])
def test_a_recording_does_not_depend_on_the_threads_pytorch_uses(model):
    """Sums split across threads round differently; the render keys cover every byte of a trace, so a recording
    made with OMP_NUM_THREADS=1 (which Dask's distributed sets on import) must equal one made with several."""
    import torch

    from model.trace import record

    threads = torch.get_num_threads()
    made = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            made.append(record(model, "the black cat eats the fish"))
            assert torch.get_num_threads() == n  # given back as it was
    finally:
        torch.set_num_threads(threads)
    one, *several = made
    for other in several:
        assert other.meta == one.meta and other.arrays.keys() == one.arrays.keys()
        for k in one.arrays:
            np.testing.assert_array_equal(other.arrays[k], one.arrays[k], err_msg=k)
