#!/usr/bin/env python3
"""Is every scene's narration understood? Word error rate per scene, by PocketSphinx; prints a table.

    python bench/narration_wer.py                        # every scene, the default sentence, the default voice
    python bench/narration_wer.py --voice flite:rms      # another flite voice (flite -lv lists them)
    python bench/narration_wer.py --voice espeak         # espeak-ng
    python bench/narration_wer.py --scenes tokens,qkv --worst 20 --sentence "the cat sleeps"
    python bench/narration_wer.py --plain                # the recogniser without the lecture's vocabulary

Each scene runs without writing video (as `render.py --check` does) and its captions are
read from its beat records: the scene's narration script, computed from the user's
numbers. Each caption is spoken as a lecture speaks it (`reel.narration.Narrator`: cut
at its subtitle cues, levelled, cached, so a rerun speaks nothing again) and each cue's
stretch of sound is recognised on its own (`reel.listen`), as the lecture test does.
Printed: the word error rate per scene and overall, then the worst cues, what was
said (the words a listener should hear) against what was heard. It reports; it never fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.35  # the lecture test's bound, per scene


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
    """`flite` (the default voice), `flite:VOICE`, `flite:VOICE:STRETCH` (slower above 1), `espeak` or `espeak:VOICE`."""
    from reel.narration import ENGINES, engine

    name, _, voice = spec.partition(":")
    if not voice:
        return engine(name)
    voice, _, stretch = voice.partition(":")
    e = ENGINES[name](voice=voice, **({"stretch": float(stretch)} if stretch else {}))
    e.check()
    return e


def main() -> int:
    from reel.listen import Listener, cue_errors
    from reel.narration import Narrator
    from scenes import available

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voice", default="flite", help="flite, flite:VOICE (slt, rms, awb, kal16, …), espeak")
    p.add_argument("--sentence", default=None, help="the English sentence (default: the model's default)")
    p.add_argument("--scenes", default=None, help="comma-separated scene names (default: every one written)")
    p.add_argument("--worst", type=int, default=12, help="how many of the worst cues to print")
    p.add_argument("--plain", action="store_true", help="the recogniser's own dictionary, without the lecture's words")
    p.add_argument("--keep", metavar="JSON", default=None,
                   help="read the captions from this file if it exists, else write them there (to compare voices "
                        "without running the scenes again)")
    args = p.parse_args()

    names = args.scenes.split(",") if args.scenes else available()
    t0 = time.perf_counter()
    kept = Path(args.keep) if args.keep else None
    if kept is not None and kept.exists():
        captions = json.loads(kept.read_text(encoding="utf-8"))
        names = [n for n in names if n in captions]
    else:
        captions = scene_captions(names, args.sentence)
        if kept is not None:
            kept.write_text(json.dumps(captions, ensure_ascii=False, indent=1), encoding="utf-8")
    t1 = time.perf_counter()
    narrator = Narrator(voice_engine(args.voice))
    listener = Listener(vocabulary=not args.plain)
    rows, cues = [], []
    errors_all = words_all = 0
    for name in names:
        errors = words = 0
        for text in captions[name]:
            speech = narrator.speak(text)
            for c in cue_errors(speech, listener):
                errors += c["errors"]
                words += c["words"]
                cues.append((name, c))
        rows.append((name, len(captions[name]), words, errors / max(words, 1)))
        errors_all += errors
        words_all += words
    t2 = time.perf_counter()

    print(f"voice {args.voice} ({narrator.engine.key()}), recogniser "
          f"{'plain' if args.plain else 'with the lecture vocabulary'}, sentence {args.sentence or '(default)'}")
    print(f"{'scene':<22}{'sentences':>10}{'words':>8}{'WER':>8}")
    for name, n, w, wer in rows:
        print(f"{name:<22}{n:>10}{w:>8}{wer:>8.3f}{'   over ' + str(TARGET) if wer > TARGET else ''}")
    print(f"{'all':<22}{sum(r[1] for r in rows):>10}{words_all:>8}{errors_all / max(words_all, 1):>8.3f}")
    print(f"worst scene {max(rows, key=lambda r: r[3])[0]} at {max(r[3] for r in rows):.3f}; "
          f"scenes run in {t1 - t0:.1f} s, spoken ({narrator.synthesised} new, {narrator.reused} cached) "
          f"and heard in {t2 - t1:.1f} s")
    if args.worst:
        print(f"\nthe {args.worst} worst cues (errors ÷ words):")
        for name, c in sorted(cues, key=lambda nc: -nc[1]["errors"] / max(nc[1]["words"], 1))[:args.worst]:
            print(f"  {name}: {c['errors']}/{c['words']}  cue:   {c['cue']}\n"
                  f"  {'':<{len(name)}}         said:  {c['said']}\n"
                  f"  {'':<{len(name)}}         heard: {c['heard']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
