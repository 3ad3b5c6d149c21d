#!/usr/bin/env python3
"""What does a Dask cluster cost a course? Prints a table; never fails on a missed target.

    python bench/course_speed.py                        # 4 sentences × 3 scenes at 480p15, local pool vs LocalCluster
    python bench/course_speed.py --repeat 2             # each run twice, alternating; the best of each is compared
    python bench/course_speed.py --quality high --fps 30 --sentences 1 --only local   # 1080p30 figures, for sizing

The same course is rendered twice from scratch (`--force`, a fresh --out folder): with
`render.py --course` on the local process pool (`--jobs` = the cores), and with
`render.py --course --cluster` on a `LocalCluster` of as many worker processes (one thread
each) on the same machine. The cluster is started before its run and not timed (a real one
is already up); its start-up is printed apart. The difference in wall time is the engine's
overhead: scheduling, pickling each job's traces out, and each scene's files coming back as
bytes and written by the client (target ≤ 10 %). On a machine shared with other work the wall
times say as much about the others: the CPU time of each run is printed too (for the cluster,
its client, its workers and what they ran, and the scheduler), and their ratio is the
overhead that does not depend on the load. The bytes sent back per scene are the
scene's files (clip, trace, values, beats: what a job returns, `reel.clip.render_clip_files`),
and the bytes sent out per scene are a pickled job (its traces and settings).

Both runs are silent (`--voice none`) unless `--voice` says otherwise: narration is cached
by text on the machine, so a narrated first run would pay for speech the second reuses.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, failed, load, media_seconds, print_table, run_render, verdict

sys.path.insert(0, str(ROOT))

TARGET_OVERHEAD = 0.10  # the cluster's wall time over the local pool's, on the same cores
SENTENCES = ("the small pig sings", "my good mouse does not buy my pigs", "this mouse catches my beds and the pen",
             "my rabbit watches a new carrot under my black fish", "the black cat does not look at the small fish",
             "the small dog sees a red apple")
SCENES = "tokens,softmax,weighted_values"


def scene_bytes(out: Path) -> list[int]:
    """For each scene of each lecture: the bytes of the files its job returned (what `place_clip` wrote)."""
    sizes = []
    for scenes in sorted(out.glob("*/scenes")):
        for beats in sorted(scenes.glob("*.beats.json")):
            name = beats.name.removesuffix(".beats.json")
            files = [scenes / f"{name}.mp4", scenes / f"{name}.values.json", beats,
                     *scenes.glob(f"{name}.trace.npz"), *scenes.glob(f"{name}.*.trace.npz")]
            sizes.append(sum(f.stat().st_size for f in files if f.is_file()))
    return sizes


def job_bytes(sentence: str, scenes: str, quality: str, fps: int | None) -> list[int]:
    """The bytes of each pickled job of one lecture: what the client sends a worker (its traces, options, settings)."""
    from reel.api import prepare
    from reel.lectures import Job, lecture_settings

    names, _, settings = lecture_settings(scenes, quality, fps, "none", False, None, None, False)
    traces, options = prepare(names, sentence, None, False, {}, lambda m: None)
    return [len(pickle.dumps(Job(n, n, traces[n], options[n], settings, "scenes"))) for n in names]


def cpu_seconds() -> float:
    """CPU seconds this process and the children it has waited for used (on a worker: its renders, ffmpeg, LaTeX)."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sentences", type=int, default=4, help="how many sentences (default 4)")
    p.add_argument("--scenes", default=SCENES, help=f"the scenes of each lecture (default {SCENES})")
    p.add_argument("--quality", default="low", help="as render.py's (default low: 480p15)")
    p.add_argument("--fps", type=int, help="as render.py's")
    p.add_argument("--voice", default="none", help="as render.py's (default none)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local pool processes and cluster workers (default: the cores)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each, alternating (default 1); the best counts")
    p.add_argument("--only", choices=("local", "cluster"), help="run only one of the two")
    args = p.parse_args(argv)
    if not 1 <= args.sentences <= len(SENTENCES):
        p.error(f"--sentences takes 1 to {len(SENTENCES)}")

    plain_env = dict(os.environ)  # before distributed is imported: it sets OMP_NUM_THREADS=1 for this process
    print(f"{load()} at the start")
    rows: list[tuple[str, ...]] = []
    walls: dict[str, list[float]] = {"local": [], "cluster": []}
    cpus: dict[str, list[float]] = {"local": [], "cluster": []}
    sizes: list[int] = []
    video = None
    with tempfile.TemporaryDirectory(prefix="course-speed-") as tmp:
        course = Path(tmp) / "course.txt"
        course.write_text("".join(s + "\n" for s in SENTENCES[:args.sentences]), encoding="utf-8")
        common = ["--course", str(course), "--scenes", args.scenes, "--quality", args.quality, "--voice", args.voice,
                  "--force", *(["--fps", str(args.fps)] if args.fps else [])]
        cluster = client = None
        if args.only != "local":
            from distributed import Client, LocalCluster

            began = time.perf_counter()
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0")
            client = Client(cluster, set_as_default=False)
            client.run(lambda: None)
            rows.append(("LocalCluster start-up (not counted)", f"{time.perf_counter() - began:.1f} s", "-", "-", "-",
                         "-", "-"))
        try:
            for i in range(args.repeat):
                for kind in ("local", "cluster"):
                    if args.only and kind != args.only:
                        continue
                    out = Path(tmp) / f"{kind}-{i}"
                    where = (["--jobs", str(args.workers)] if kind == "local"
                             else ["--cluster", cluster.scheduler_address])
                    print(f"run {i + 1} of {args.repeat}: the course on the "
                          f"{'local pool' if kind == 'local' else 'LocalCluster'} …", file=sys.stderr, flush=True)
                    if kind == "cluster":  # the workers' CPU, and this process's: the scheduler runs here
                        before = sum(client.run(cpu_seconds).values()) + cpu_seconds()
                    wall, cpu, r = run_render(*common, *where, "--out", str(out), env=plain_env)
                    if kind == "cluster":  # and this process's children: the client it waited for
                        cpu = sum(client.run(cpu_seconds).values()) + cpu_seconds() - before
                    if r.returncode != 0:
                        rows.append((f"{kind} (run {i + 1})", f"{wall:.1f} s", "-", "-", "-", failed(r), "-"))
                        continue
                    walls[kind].append(wall)
                    cpus[kind].append(cpu)
                    video = sum(media_seconds(v) or 0 for v in out.glob("*/lecture.mp4"))
                    sizes = scene_bytes(out)
                    note = f"{cpu:.0f} s (client and {'its pool' if kind == 'local' else 'the cluster'})"
                    label = (f"local pool, {args.workers} processes" if kind == "local"
                             else f"LocalCluster, {args.workers} workers")
                    rows.append((f"{label} (run {i + 1})", f"{wall:.1f} s", f"{video:.0f} s", f"{wall / video:.2f}",
                                 "-", "-", note))
        finally:
            if client is not None:
                client.close()
                cluster.close()
        if walls["local"] and walls["cluster"]:
            best_local, best_cluster = min(walls["local"]), min(walls["cluster"])
            overhead = best_cluster / best_local - 1
            cpu_overhead = min(cpus["cluster"]) / min(cpus["local"]) - 1
            rows.append(("engine overhead (best of each)", f"{best_cluster - best_local:+.1f} s", "-",
                         f"{overhead:+.1%}", f"≤ {TARGET_OVERHEAD:.0%}", verdict(overhead, TARGET_OVERHEAD),
                         f"CPU {cpu_overhead:+.1%}"))
        if sizes:
            rows.append(("bytes back per scene (files)", mb(statistics.mean(sizes)), f"max {mb(max(sizes))}",
                         f"{mb(sum(sizes) / video)}/s" if video else "-", "-", "-", f"{len(sizes)} scenes"))
        out_bytes = job_bytes(SENTENCES[0], args.scenes, args.quality, args.fps)
        rows.append(("bytes out per scene (pickled job)", mb(statistics.mean(out_bytes)), f"max {mb(max(out_bytes))}",
                     "-", "-", "-", "-"))

    n_scenes = len([s for s in args.scenes.split(",") if s])
    print(f"a course of {args.sentences} sentences × {n_scenes} scenes, --quality {args.quality}"
          f"{f' --fps {args.fps}' if args.fps else ''}, --voice {args.voice}")
    print_table(("", "wall time", "video", "ratio", "target", "verdict", "CPU time / notes"), rows, left=(0, 5, 6))
    print(f"{load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
