"""The translator's training, kept: snapshots of its weights along the way, its loss curve, and traces
recorded with a snapshot's weights (model.trace.record(snapshot=…))."""

import numpy as np
import pytest
import torch

from model import SNAPSHOTS, TRAINING
from model.errors import InputError
from model.history import read_history
from model.trace import DEFAULT_SENTENCE, record
from model.train import TrainConfig, chosen_probabilities, load, load_snapshot, snapshot_steps, train, translate_batch


def _config_of(history) -> TrainConfig:
    """The TrainConfig the shipped run was made with, as its record gives it."""
    r = history.record
    return TrainConfig(seed=r["seed"], steps=r["steps"], batch_size=r["batch_size"], lr=r["lr"], warmup=r["warmup"],
                       weight_decay=r["weight_decay"], label_smoothing=r["label_smoothing"])


def test_retraining_reproduces_the_early_snapshots_and_the_logged_curve():
    """`make train` again, cut short after the second snapshot (a few seconds): the same weights at the first
    two snapshots and the same losses as shipped, and the curve is what training printed.

    Tolerances are float32's across machines, not 0: another CPU's kernels may add in another order (other
    vector widths), a difference of a few units in the last place that a hundred Adam steps carry along and
    can grow tenfold; rtol=1e-4 with atol=1e-5 (for weights near 0) holds that and still catches any change
    of seed, batch, schedule or loss, which moves weights by 1e-3 and more within a step."""
    history = read_history()
    first, second = history.snapshot_steps[:2]
    printed = []
    model, _, progress = train(tc=_config_of(history), log=printed.append, until=second)
    assert progress.step == second and sorted(progress.snapshots) == [first, second]
    for step in (first, second):
        shipped = load_snapshot(step)[0].state_dict()
        assert progress.snapshots[step].keys() == shipped.keys()
        for k, v in shipped.items():
            torch.testing.assert_close(progress.snapshots[step][k], v, rtol=1e-4, atol=1e-5, msg=f"step {step}: {k}")
    np.testing.assert_allclose(progress.losses, history.losses[:second], rtol=1e-4)
    # the printed lines ("step 0  loss 6.5921 …") show the same numbers as the curve
    for line in printed:
        step, loss = int(line.split()[1]), float(line.split()[3])
        assert loss == pytest.approx(history.losses[step], abs=1e-4), line


def test_the_record_matches_the_shipped_weights():
    history = read_history()
    final, _ = load("translator")
    assert history.snapshot_steps == tuple(snapshot_steps())
    assert history.snapshot_steps[0] == 0 and history.final_step == final.step == len(history.losses)
    assert len(history.snapshot_steps) >= 5  # the random start, three points on the way, the final weights
    assert list(history.snapshot_steps) == sorted(set(history.snapshot_steps))
    assert history.label_smoothing == TrainConfig().label_smoothing > 0
    assert history.d_model == final.cfg.d_model and history.record["config"] == final.cfg.to_dict()
    assert history.loss_at(history.final_step) == history.losses[-1]
    with pytest.raises(InputError):
        history.loss_at(history.final_step + 1)
    # kept small: a few hundred kilobytes each
    assert SNAPSHOTS.stat().st_size < 2_000_000 and TRAINING.stat().st_size < 500_000


def test_the_snapshots_go_from_gibberish_to_the_translation():
    """The default sentence, translated by each snapshot: the random start does not give the final translation;
    each snapshot writes something new until one writes the final translation, and from there on the model only
    grows surer of it (the mean probability of the words it chooses rises); the last snapshot is the shipped model."""
    steps = snapshot_steps()
    runs = [chosen_probabilities(*load_snapshot(s), [DEFAULT_SENTENCE]) for s in steps]
    outputs = [out[0] for out, _ in runs]
    sureness = [float(np.mean(p[0])) for _, p in runs]
    final = translate_batch(*load("translator"), [DEFAULT_SENTENCE])[0]
    assert outputs[-1] == final != outputs[0]
    right = outputs.index(final)
    assert right >= 3, outputs  # the random start and at least two wrong translations on the way
    assert all(a != b for a, b in zip(outputs[: right + 1], outputs[1 : right + 1])), outputs
    assert all(a < b for a, b in zip(sureness[right:], sureness[right + 1 :])), sureness


def test_record_with_a_snapshot_reads_the_given_target():
    """Every snapshot reads the final translation (so the grids have one shape), while `output` stays its own."""
    final = record()
    target = final.output
    shapes = set()
    for step in snapshot_steps():
        warnings = []
        t = record(sentence=DEFAULT_SENTENCE, target=target, snapshot=step, warn=warnings.append)
        model, tok = load_snapshot(step)
        assert t.meta["step"] == step
        assert t.tokens("decoder") == ["<bos>", *tok.encode(target).tokens]
        assert t.output == translate_batch(model, tok, [DEFAULT_SENTENCE])[0]  # its own answer, not the target
        ended = tok.eos_id in model.greedy(torch.tensor([t["encoder.hook_tokens"].tolist()]), tok.bos_id, tok.eos_id)[0]
        assert ended == (not any("without ending" in w for w in warnings)), warnings  # cut with a warning, never a failure
        np.testing.assert_array_equal(t.param("encoder.W_E"), model.encoder.W_E.detach().numpy())
        shapes.add(t["decoder.blocks.1.cross_attn.hook_pattern"].shape)
    assert len(shapes) == 1
    same = record(snapshot=snapshot_steps()[-1])
    assert {k: v for k, v in same.meta.items() if k != "output_tokens"} == final.meta  # the last snapshot is the final model


def test_record_with_a_snapshot_and_no_target_reads_its_own_output():
    step = snapshot_steps()[0]
    t = record(snapshot=step, warn=lambda _: None)  # the random start: gibberish, possibly cut
    model, tok = load_snapshot(step)
    ids = model.greedy(torch.tensor([t["encoder.hook_tokens"].tolist()]), tok.bos_id, tok.eos_id)[0]
    ids = ids[: ids.index(tok.eos_id)] if tok.eos_id in ids else ids
    assert t["decoder.hook_tokens"].tolist() == [tok.bos_id, *ids]
    assert t.meta["step"] == step and t.output == tok.decode(ids)


def test_an_unknown_snapshot_names_the_shipped_ones():
    steps = snapshot_steps()
    with pytest.raises(InputError) as e:
        record(snapshot=steps[1] + 1)
    assert all(str(s) in str(e.value) for s in steps) and "\n" not in str(e.value)
    with pytest.raises(InputError, match="translator"):
        record("bert", snapshot=steps[0])


def test_the_trace_command_takes_a_snapshot(tmp_path):
    from model.tracefile import Trace

    from .conftest import model_cli, run_cli

    steps = snapshot_steps()
    out = tmp_path / "s.trace.npz"
    r = run_cli("-m", "model", "trace", "--snapshot", str(steps[1]), "--target", record().output, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert Trace.load(out).meta["step"] == steps[1]
    for args, words in ((["--snapshot", str(steps[1] + 1)], [str(s) for s in steps]), (["--snapshot", "0", "--model", "bert"], ["translator"])):
        out = tmp_path / "bad.trace.npz"
        r = model_cli("trace", *args, "--out", str(out))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
        assert all(w in r.stderr for w in words) and not out.exists()
