#!/usr/bin/env python3
"""Every voice over the whole script, side by side: understood (word error rate), pleasant (DNSMOS), how fast.

    python bench/narration_wer.py                        # piper and flite, every scene, the default sentence
    python bench/narration_wer.py --voice piper,flite,espeak --mos      # and DNSMOS (pip install -e '.[bench]')
    python bench/narration_wer.py --voice flite:rms      # another flite voice (flite -lv lists them)
    python bench/narration_wer.py --voice piper:1.2:0.3  # Piper slower (length_scale), 0.3 s between sentences
    python bench/narration_wer.py --scenes tokens,qkv --worst 20 --sentence "the cat sleeps"
    python bench/narration_wer.py --sample 40 --keep captions.json     # 40 captions spread over the script
    python bench/narration_wer.py --plain                # the recogniser without the lecture's vocabulary
    python bench/narration_wer.py --speed                # no recognition: how long each voice takes, cold and warm

Each scene runs without writing video (as `render.py --check` does) and its captions are
read from its beat records: the scene's narration script, computed from the user's
numbers. Each voice speaks every caption as a lecture speaks it (`reel.narration.Narrator`:
cut at its subtitle cues, levelled) into an empty speech cache of its own, timed (cold);
then the same again from that cache (warm). Each cue's stretch of sound is recognised on
its own (`reel.listen`), as the lecture test does; with `--mos`, each caption's sound is
scored by DNSMOS (Microsoft's predictor of listeners' opinion scores, the `speechmos`
package: P.808 MOS, and the overall MOS of its P.835 model), averaged over the captions.
Printed, per voice: the word error rate per scene and overall against the test's bar for
that engine, the worst cues (what was said against what was heard); then one row per voice.
It reports; it never fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scene_captions(names: list[str], sentence: str | None) -> dict[str, list[str]]:
    """Every scene's caption sentences for `sentence`, in order, from a run without video."""
    from reel.clip import record_traces
    from scenes import scene_class
    from scenes.kit.framecheck import check_scene

    recorded = record_traces(names, sentence, None)
    captions = {}
    for name in names:
        cls, traces = scene_class(name), recorded[name]
        scene, _ = check_scene(cls, traces)
        captions[name] = [c.text for b in scene.beats for c in b.captions]
    return captions


def voice_engine(spec: str):
    """`piper`, `piper:LENGTH_SCALE[:SENTENCE_SILENCE]`, `flite`, `flite:VOICE[:STRETCH]` (slower above 1),
    `espeak` or `espeak:VOICE`; checked to be installed."""
    from reel.narration import ENGINES, engine

    name, _, rest = spec.partition(":")
    if not rest:
        return engine(name)
    a, _, b = rest.partition(":")
    if name == "piper":
        e = ENGINES[name](length_scale=float(a), **({"sentence_silence": float(b)} if b else {}))
    elif name == "flite":
        e = ENGINES[name](voice=a, **({"stretch": float(b)} if b else {}))
    else:
        e = ENGINES[name](voice=a)
    e.check()
    return e


def spread(captions: dict[str, list[str]], n: int | None) -> dict[str, list[str]]:
    """`n` captions spread evenly over the script (in order), kept under their scenes; all of them for None."""
    flat = [(name, text) for name, texts in captions.items() for text in texts]
    if n is None or n >= len(flat):
        return captions
    picked = {round(i * (len(flat) - 1) / max(n - 1, 1)) for i in range(n)}
    out: dict[str, list[str]] = {}
    for i in sorted(picked):
        out.setdefault(flat[i][0], []).append(flat[i][1])
    return out


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime + s.ru_utime + s.ru_stime


def speak_all(narrator, texts: list[str]) -> tuple[list, float, float]:
    """Every text spoken through `narrator`: (speeches, wall seconds, CPU seconds of this process and its children)."""
    cpu, start = children_cpu(), time.perf_counter()
    speeches = [narrator.speak(t) for t in texts]
    if hasattr(narrator.engine, "close"):  # a program kept running (Piper): its CPU time counts once it has ended
        narrator.engine.close()
    return speeches, time.perf_counter() - start, children_cpu() - cpu


def dnsmos(path: Path) -> tuple[float, float]:
    """(P.808 MOS, overall MOS) of one WAV by DNSMOS, at the 16 kHz it hears."""
    import numpy as np
    from speechmos import dnsmos as model

    from reel.listen import RATE, pcm

    samples = np.frombuffer(pcm(path, 0.0, 10_000.0), dtype=np.int16).astype(np.float32) / 32768
    r = model.run(samples, sr=RATE)
    return float(r["p808_mos"]), float(r["ovrl_mos"])


def measure(spec: str, captions: dict[str, list[str]], listener, mos: bool, cache: Path | None, worst: int) -> dict:
    """One voice over the captions: spoken cold and warm, then (with a listener) recognised, and scored with `mos`."""
    from reel.listen import cue_errors
    from reel.narration import Narrator

    from tests.intelligibility import WER_BAR

    engine = voice_engine(spec)
    texts = [t for ts in captions.values() for t in ts]
    with tempfile.TemporaryDirectory(prefix="narration-bench-") as tmp:
        where = cache or Path(tmp)
        cold = Narrator(engine, cache=where)
        speeches, cold_wall, cold_cpu = speak_all(cold, texts)
        warm = Narrator(engine, cache=where)
        _, warm_wall, warm_cpu = speak_all(warm, texts)
        by_text = dict(zip(texts, speeches))
        bar = WER_BAR.get(engine.name)
        rows, cues, scores = [], [], []
        for name, ts in captions.items():
            errors = words = 0
            for text in ts:
                speech = by_text[text]
                for c in cue_errors(speech, listener) if listener is not None else ():
                    errors += c["errors"]
                    words += c["words"]
                    cues.append((name, c))
                if mos:
                    scores.append(dnsmos(speech.path))
            if listener is not None:
                rows.append((name, len(ts), words, errors / max(words, 1)))
        audio = sum(s.duration for s in speeches)
    errors_all = sum(c["errors"] for _, c in cues)
    words_all = sum(c["words"] for _, c in cues)

    print(f"\nvoice {spec} ({engine.key()})")
    if rows:
        print(f"{'scene':<22}{'sentences':>10}{'words':>8}{'WER':>8}")
    for name, n, w, wer in rows:
        print(f"{name:<22}{n:>10}{w:>8}{wer:>8.3f}{f'   over {bar}' if bar is not None and wer > bar else ''}")
    if rows:
        print(f"{'all':<22}{len(texts):>10}{words_all:>8}{errors_all / max(words_all, 1):>8.3f}"
              f"{f'   (the test bar for {engine.name}: {bar})' if bar is not None else ''}")
    print(f"spoken: {cold.synthesised} captions synthesised in {cold_wall:.1f} s (CPU {cold_cpu:.1f} s), "
          f"{warm.reused} from the cache in {warm_wall:.2f} s; {audio:.0f} s of speech, "
          f"{sum(len(t.split()) for t in texts) / audio * 60:.0f} words a minute")
    if worst and cues:
        print(f"the {worst} worst cues (errors ÷ words):")
        for name, c in sorted(cues, key=lambda nc: -nc[1]["errors"] / max(nc[1]["words"], 1))[:worst]:
            print(f"  {name}: {c['errors']}/{c['words']}  cue:   {c['cue']}\n"
                  f"  {'':<{len(name)}}         said:  {c['said']}\n"
                  f"  {'':<{len(name)}}         heard: {c['heard']}")
    return {"voice": spec, "sentences": len(texts), "words": words_all,
            "wer": errors_all / words_all if words_all else None,
            "bar": bar, "p808": sum(s[0] for s in scores) / len(scores) if scores else None,
            "overall": sum(s[1] for s in scores) / len(scores) if scores else None,
            "cold": cold_wall, "cold_cpu": cold_cpu, "warm": warm_wall, "audio": audio,
            "synthesised": cold.synthesised}


def main() -> int:
    from reel.listen import Listener
    from scenes import available

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voice", default="piper,flite",
                   help="comma-separated voices: piper, piper:LENGTH_SCALE[:PAUSE], flite, flite:VOICE[:STRETCH] "
                        "(slt, rms, awb, kal16, …), espeak (default: piper,flite)")
    p.add_argument("--mos", action="store_true",
                   help="also DNSMOS's predicted opinion scores (needs `speechmos`: pip install -e '.[bench]')")
    p.add_argument("--sentence", default=None, help="the English sentence (default: the model's default)")
    p.add_argument("--scenes", default=None, help="comma-separated scene names (default: every one written)")
    p.add_argument("--sample", type=int, default=None, help="only this many captions, spread over the script")
    p.add_argument("--worst", type=int, default=12, help="how many of the worst cues to print, per voice")
    p.add_argument("--plain", action="store_true", help="the recogniser's own dictionary, without the lecture's words")
    p.add_argument("--speed", action="store_true", help="no recognition: the synthesis times (and with --mos, MOS)")
    p.add_argument("--cache", metavar="DIR", default=None,
                   help="speak through this speech cache (default: an empty one per voice, so 'cold' is cold)")
    p.add_argument("--keep", metavar="JSON", default=None,
                   help="read the captions from this file if it exists, else write them there (to compare voices "
                        "without running the scenes again)")
    args = p.parse_args()
    if args.mos:
        try:
            import speechmos.dnsmos  # noqa: F401
        except ImportError as e:
            print(f"error: --mos needs DNSMOS ({e}): pip install -e '.[bench]'", file=sys.stderr)
            return 2

    names = args.scenes.split(",") if args.scenes else available()
    t0 = time.perf_counter()
    kept = Path(args.keep) if args.keep else None
    if kept is not None and kept.exists():
        captions = json.loads(kept.read_text(encoding="utf-8"))
        names = [n for n in names if n in captions]
        captions = {n: captions[n] for n in names}
    else:
        captions = scene_captions(names, args.sentence)
        if kept is not None:
            kept.write_text(json.dumps(captions, ensure_ascii=False, indent=1), encoding="utf-8")
    captions = spread(captions, args.sample)
    print(f"{sum(map(len, captions.values()))} captions of {len(captions)} scenes (read in "
          f"{time.perf_counter() - t0:.1f} s), sentence {args.sentence or '(default)'}; recogniser PocketSphinx "
          f"{'(plain)' if args.plain else 'with the lecture vocabulary'}")
    listener = None if args.speed else Listener(vocabulary=not args.plain)
    results = [measure(spec, captions, listener, args.mos, Path(args.cache) if args.cache else None, args.worst)
               for spec in args.voice.split(",")]

    print(f"\n{'voice':<16}{'sentences':>10}{'words':>7}{'WER':>7}{'bar':>6}{'MOS P.808':>11}{'overall':>9}"
          f"{'speech':>9}{'cold':>9}{'cold CPU':>10}{'warm':>8}")
    for r in results:
        mos = f"{r['p808']:>11.2f}{r['overall']:>9.2f}" if r["p808"] is not None else f"{'-':>11}{'-':>9}"
        wer = f"{r['wer']:>7.3f}" if r["wer"] is not None else f"{'-':>7}"
        print(f"{r['voice']:<16}{r['sentences']:>10}{r['words']:>7}{wer}"
              f"{r['bar'] if r['bar'] is not None else '-':>6}{mos}{r['audio']:>8.0f}s{r['cold']:>8.1f}s"
              f"{r['cold_cpu']:>9.1f}s{r['warm']:>7.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
