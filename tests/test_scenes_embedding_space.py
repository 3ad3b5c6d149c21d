"""embedding_space (words as points): the axes are W_E's own principal axes, nearness is measured in all
dimensions, what is drawn sits where the numbers put it, and the captions count what the numbers and the
lexicon show (and change when the numbers do).

The scene runs once on the default sentence under the frame check (`check_scene`, no video); the frame
check and the manifest check for the three sentences of every scene are in tests/test_scenes.py. The
recomputations here use NumPy and the corpus, not the kit's code that computed the values.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import corpus
from model.tracefile import Trace
from scenes import scene_class
from scenes.kit.derived import cosine, distance, fit_basis, kept_share, projection
from scenes.kit.framecheck import check_scene
from scenes.kit.manifest import ValuesManifest
from scenes.kit.words import language_ids, vocabulary

from .checks import basis_axes, check_manifest

NAME = "embedding_space"
W_E, EMBED, INPUT, OUT = "param.encoder.W_E", "encoder.hook_embed_scaled", "encoder.hook_input", "encoder.hook_out"
K = 5


@pytest.fixture(scope="module")
def traces(traces_for):
    return traces_for(None, ("translator",), scene_class(NAME))


@pytest.fixture(scope="module")
def trace(traces):
    return traces["translator"]


@pytest.fixture(scope="module")
def run(checked):
    scene, problems = checked(NAME)  # the default sentence's run, shared with tests/test_scenes.py
    assert not problems, "\n".join(map(str, problems[:10]))
    return scene


def chosen(traces) -> object:
    """The scene set up and its choices made (nothing drawn): what it would show and say."""
    scene = scene_class(NAME)(traces=traces)
    scene.setup()
    scene.choose()
    return scene


def genders() -> dict[str, str]:
    out = {}
    for n in corpus.NOUNS:
        out[n.en] = n.gender
        if n.plural:
            out[n.en_pl] = n.gender
    return out


def top_cosines(W: np.ndarray, i: int, candidates) -> list[int]:
    rows = [j for j in candidates if j != i]
    X = W.astype(np.float64)
    sims = [X[i] @ X[j] / np.sqrt((X[i] @ X[i]) * (X[j] @ X[j])) for j in rows]
    return [rows[o] for o in np.argsort(sims, kind="stable")[::-1][:K]]


def captions(scene) -> list[str]:
    return [c.text for b in scene.beats for c in b.captions]


# --------------------------------------------------------------------------- the projection
def test_the_axes_are_w_es_principal_axes_orthonormal_with_fixed_signs(trace):
    ids = language_ids(trace, "en")
    words = vocabulary(trace)
    english = {words[i] for i in ids}
    assert english >= {"cat", "the", "black", "eats"} and not {"chat", "le", "<eos>"} & english
    scale = np.sqrt(trace.config["d_model"])
    basis = fit_basis("pca-en", "translator", trace, W_E, ids, scale=scale)
    axes = basis.axes
    assert axes.shape == (2, trace.config["d_model"])
    assert np.allclose(axes @ axes.T, np.eye(2), atol=1e-12)
    assert all(a[np.abs(a).argmax()] > 0 for a in axes)
    # the same axes from the covariance's eigenvectors
    X = scale * trace[W_E][ids].astype(np.float64)
    centred = X - X.mean(0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    order = np.argsort(values)[::-1]
    for a, v in zip(axes, vectors[:, order[:2]].T):
        assert np.allclose(a, v * np.sign(v[np.abs(v).argmax()]), atol=1e-9)
    # coordinates are the centred rows times the axes; their variance along each axis is its eigenvalue
    coords = basis.project(X)
    assert np.allclose(coords, centred @ axes.T, atol=1e-9)
    assert np.allclose(coords.var(0, ddof=1), values[order[:2]], rtol=1e-9)
    share = values[order[:2]].sum() / values.sum()
    assert np.isclose(basis.share.sum(), share, rtol=1e-9)
    assert kept_share(basis, trace, W_E, ids).shown == f"{100 * share:.0f}"


def test_every_measure_is_recomputed_independently_and_a_wrong_one_is_caught(trace):
    ids = language_ids(trace, "en")
    basis = fit_basis("pca-en", "translator", trace, W_E, ids, scale=4.0)
    shown = [projection(basis, trace, EMBED, 2, 0), projection(basis, trace, OUT, 7, 1),
             kept_share(basis, trace, W_E, ids), kept_share(basis, trace, OUT),
             cosine("translator", trace, W_E, ids[3], ids[9]), cosine("translator", trace, OUT, 0, 7),
             distance("translator", trace, OUT, 0, 7), distance("translator", trace, EMBED, 2, 2, other=OUT)]
    manifest = ValuesManifest(NAME, {"translator": "t.npz"})
    for s in shown:
        manifest.add(s)
    good = manifest.to_dict()
    assert good["bases"]["pca-en"]["rows"] == ids and good["bases"]["pca-en"]["scale"] == 4.0
    assert {v["derived"] for v in good["values"]} == {"project", "variance_pct", "cosine", "distance"}
    check_manifest(good, {"translator": trace}, min_values=len(shown))
    for k, v in enumerate(good["values"]):
        bad = {**good, "values": [dict(v, shown=_nudged(v["shown"]))]}
        with pytest.raises(AssertionError):
            check_manifest(bad, {"translator": trace})
    # a basis the manifest does not define is refused
    with pytest.raises(AssertionError):
        check_manifest({**good, "bases": {}}, {"translator": trace})


def _nudged(text: str) -> str:
    """The shown text one step off in its last digit."""
    value = float(text.replace("\u2212", "-"))
    step = 10.0 ** -(len(text.split(".")[1]) if "." in text else 0)
    out = f"{value + 3 * step:.{len(text.split('.')[1]) if '.' in text else 0}f}"
    return out.replace("-", "\u2212")


# --------------------------------------------------------------------------- what the scene shows
def test_the_scene_records_its_basis_and_measures_of_every_kind(run, trace):
    manifest = run.manifest.to_dict()
    ops = {v.get("derived") for v in manifest["values"]}
    assert {"project", "variance_pct", "cosine", "distance"} <= ops
    spec = manifest["bases"]["pca-en"]
    assert spec["tensor"] == W_E and spec["rows"] == language_ids(trace, "en") and spec["k"] == 2
    assert spec["scale"] == pytest.approx(np.sqrt(trace.config["d_model"]))
    check_manifest(manifest, run.traces, min_values=10)


def test_the_neighbours_listed_are_the_nearest_in_all_dimensions(run, trace):
    W = trace[W_E]
    words = vocabulary(trace)
    gender = genders()
    nouns = [i for i in language_ids(trace, "en") if words[i] in gender]
    listed: dict[int, list[int]] = {}
    for v in run.manifest.to_dict()["values"]:
        if v.get("derived") == "cosine" and v["tensor"] == W_E:
            listed.setdefault(v["index"][0], []).append(v["with"][0])
    assert len(listed) == len(run.studies)
    for n, (p, candidates) in enumerate(run.studies):
        i = int(trace["encoder.hook_tokens"][p])
        # a noun of the sentence (listed first) among every noun of the lexicon; another word among all words
        pool = nouns if n == 0 and words[i] in gender else language_ids(trace, "en")
        assert sorted(candidates) == sorted(pool)
        assert listed[i] == top_cosines(W, i, pool), words[i]


def test_drawn_where_the_numbers_put_it(run, trace):
    spec = run.manifest.to_dict()["bases"]["pca-en"]
    origin, axes = basis_axes(trace, spec)
    to_xy = lambda v: (np.asarray(v, dtype=np.float64) - origin) @ axes.T  # noqa: E731
    grid = run.plane.grid
    for i, dot in run.dot_of.items():
        assert np.allclose(grid.p2c(dot.get_center()), to_xy(spec["scale"] * trace[W_E][i]), atol=1e-6)
    # every arrow ends where the encoder left its word
    for arrow, p in zip(run.arrows, run.positions):
        assert np.allclose(grid.p2c(arrow.get_end()), to_xy(trace[OUT][p]), atol=1e-6)
        assert np.allclose(grid.p2c(arrow.get_start()), [0, 0], atol=1e-6)


# --------------------------------------------------------------------------- the captions
def test_captions_count_what_the_numbers_and_the_lexicon_show(run, trace):
    text = " ".join(captions(run))
    words = vocabulary(trace)
    gender = genders()
    en = language_ids(trace, "en")
    nouns = [i for i in en if words[i] in gender]
    W = trace[W_E]
    # the sentence's noun: how many of its nearest nouns share its French gender
    p, _ = run.studies[0]
    i = int(trace["encoder.hook_tokens"][p])
    same = sum(gender[words[j]] == gender[words[i]] for j in top_cosines(W, i, nouns))
    kind = "masculine" if gender[words[i]] == "m" else "feminine"
    said = f"All {K} nouns nearest \u201c{words[i]}\u201d are {kind}" if same == K else f"{same} of the {K} nouns"
    assert said in text
    # over the whole vocabulary
    agree = sum(sum(gender[words[j]] == gender[words[n]] for j in top_cosines(W, n, nouns)) > K / 2 for n in nouns)
    assert f"for {agree} of the {len(nouns)} nouns, most of the nearest share the French gender" in text
    # the share of variance, as shown
    shown = next(v["shown"] for v in run.manifest.to_dict()["values"]
                 if v.get("derived") == "variance_pct" and v["tensor"] == W_E)
    assert f"keep {shown} percent" in text
    # the repeated word, and what each of its two places reads most (itself aside) in the last layer
    tokens = trace.tokens("encoder")
    a, b = run.focus
    assert tokens[a] == tokens[b] == max(set(tokens), key=lambda w: (tokens.count(w), -tokens.index(w)))
    layer = trace.config["n_layers"]["encoder"] - 1
    pattern = trace[f"encoder.blocks.{layer}.self_attn.hook_pattern"][run.attn_head]
    for q in (a, b):
        row = pattern[q].astype(np.float64).copy()
        row[q] = -1
        assert f"(word {q + 1}) reads \u201c{tokens[int(row.argmax())]}\u201d" in text


def test_every_caption_fits_on_two_lines(run):
    """The stage ends above a two-line caption: a third line would run into the picture."""
    from scenes.kit.components import caption

    long = [t for t in captions(run) if len(caption(t)) > 2]
    assert not long, long


def test_the_gender_caption_follows_the_numbers(traces, trace):
    """Move the nearest nouns of each of the sentence's nouns next to it, all of the other gender: the
    caption now says none shares its gender."""
    words = vocabulary(trace)
    stoi = {w: i for i, w in enumerate(words)}
    gender = genders()
    W = trace[W_E].copy()
    rng = np.random.default_rng(0)
    taken: set[str] = set()
    for w in dict.fromkeys(t for t in trace.tokens("encoder") if t in gender):
        others = [n for n in gender if gender[n] != gender[w] and n in stoi and n not in taken][:K]
        taken |= set(others)
        for n in others:
            W[stoi[n]] = W[stoi[w]] + 1e-3 * rng.standard_normal(W.shape[1])
    changed = Trace(trace.meta, {**trace.arrays, W_E: W})
    scene = chosen({"translator": changed})
    p, nouns = scene.studies[0]
    i = scene.row(p)
    sentence = scene.noun_sentence(i, scene.neighbours_of(i, nouns))
    assert sentence.startswith(f"None of the {K} nouns nearest \u201c{words[i]}\u201d"), sentence
    assert "gender does not gather them" in sentence


def test_one_unknown_word():
    """The far end: one word, unknown. No noun to list and no kind of its own: the scene lists the nearest
    words of the <unk> row it is read as, follows its arrow, and has no spread of outputs to measure."""
    from reel.clip import record_slots

    cls = scene_class(NAME)
    traces = record_slots(cls, "zorp", None, allow_unknown=True, warn=lambda _: None)
    scene, problems = check_scene(cls, traces)
    assert not problems, "\n".join(map(str, problems[:10]))
    check_manifest(scene.manifest.to_dict(), traces, min_values=5)
    assert scene.positions == scene.focus == [0] and [p for p, _ in scene.studies] == [0]
    assert not any(v["tensor"] == OUT and v.get("derived") == "variance_pct"
                   for v in scene.manifest.to_dict()["values"])
    assert any(c.startswith(f"Of the {K} words nearest \u201c<unk>\u201d") for c in captions(scene))
    test_every_caption_fits_on_two_lines(scene)
