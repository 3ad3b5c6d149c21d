"""Scene jobs on a Dask cluster: `render.py --course FILE --cluster tcp://HOST:8786`, or `cluster=` from Python.

    dask scheduler                                   # on one machine
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers N   # on each machine: N = its cores
    python render.py --course sentences.txt --cluster tcp://HOST:8786 --out course

The jobs are the lecture's (`reel.lectures.Job`: a scene, its traces, options and settings),
handed to Dask's `concurrent.futures` executor (`Client.get_executor`) instead of a local
process pool; Dask schedules them, moves them off a worker that is lost mid-job (up to its
`distributed.scheduler.allowed-failures`, 3 by default) and retries one that raised
(`RETRIES`). Nothing assumes a shared filesystem: a job renders into a temporary folder on
its worker and returns its files' bytes (`reel.clip.render_clip_files`), which the client
writes into place as they arrive, atomically, the render key last (`reel.clip.place_clip`)
— so an interrupted client keeps every scene that came back, and the next run resumes.

The workers must run the same project as the client, or the render keys written would not
be the ones the client computes: on connecting, `identity()` (a digest of all the project's
code and checkpoints, Manim's version, the voice program's) is computed on every worker and
compared with the client's; a mismatch is refused with one line (`InputError`, exit 2). Each
job checks it again on its worker, for workers that join later.

`distributed` is an optional extra: `pip install '.[cluster]'` (`make setup` installs it).
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Iterator

from model.errors import InputError

RETRIES = 2  # a job that raised is tried again this often (a worker lost mid-job is Dask's own matter)
CONNECT_TIMEOUT = 15  # seconds to reach the scheduler
WAIT_FOR_WORKERS = 60  # seconds to wait for a first worker
# What a worker must share with the client: all of the project's code, the checkpoints and vocabularies.
PROJECT_FILES = ("render.py", "reel/**/*.py", "scenes/**/*.py", "model/**/*.py", "assets/*.pt", "assets/*.json")
INSTALL = "pip install '.[cluster]'"


@functools.lru_cache(maxsize=None)
def identity(voice: str) -> dict:
    """What a render depends on besides its job: the project's code and checkpoints, Manim, the voice program."""
    import manim

    from reel.clip import code_digest
    from reel.narration import engine

    voiced = engine(voice)
    return {"code": code_digest(PROJECT_FILES), "manim": manim.__version__, "voice": voiced.key() if voiced else None}


def differences(mine: dict, theirs: dict) -> str:
    """How another identity differs from this one, in a few words: "code 1a2b3c4d5e6f there, 9f8e7d6c5b4a here"."""
    def short(value) -> str:
        return value[:12] if isinstance(value, str) and len(value) == 64 else str(value)

    return "; ".join(f"{k} {short(theirs.get(k))} there, {short(mine[k])} here" for k in mine if theirs.get(k) != mine[k])


def check_here(expected: dict, voice: str) -> None:
    """On a worker, before a job: this process runs what the client does, or the job fails saying so; and the
    worker's profiler is off."""
    mine = identity(voice)
    if mine != expected:
        raise RuntimeError(f"this worker runs another version of transformer-reel ({differences(expected, mine)}): "
                           f"install the client's on it ({INSTALL}) and restart it")
    _profiler_off()
    _malloc_as_usual()


@functools.lru_cache(maxsize=None)
def _malloc_as_usual() -> None:
    """Give glibc's allocator back its usual thresholds in this worker process. Dask's nanny starts workers with
    MALLOC_TRIM_THRESHOLD_=65536, which also switches off glibc's adaptive mmap threshold: every frame buffer
    Manim allocates (1.6 MB at 480p, 8 MB at 1080p) is then mapped and zero-filled afresh, and the heap trimmed
    after it, which cost a render a quarter more CPU (bench/course_speed.py). Fixed thresholds as high as the
    adaptive ones reach (32 MiB) keep frames in the heap; the heap is trimmed past 64 MiB free."""
    import ctypes
    import ctypes.util
    import os

    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _profiler_off() -> None:
    """Stop the Dask worker's statistical profiler, as `distributed.worker.profile.enabled: false` would at its
    start. It samples the running task's stack every 10 ms; a render's stacks are deep (Manim), and the
    sampling cost a fifth more CPU per scene (bench/course_speed.py). Best effort: a worker that has no such
    callbacks (another version of Dask) keeps what it has."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return  # not in a Dask worker
    callbacks = getattr(worker, "periodic_callbacks", {})
    for name in ("profile", "profile-cycle"):
        if name in callbacks:
            worker.loop.add_callback(callbacks[name].stop)


def require_distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"--cluster needs Dask's distributed: {INSTALL} (make setup installs it)") from None
    return distributed


def check_address(cluster):
    """`distributed` is installed and `cluster` is a scheduler's address (or a `distributed.Client`); returns the
    module. Checked before any work."""
    distributed = require_distributed()
    if isinstance(cluster, str):
        if not re.fullmatch(r"(tcp|tls|ws|wss|inproc|ucx)://\S+", cluster):
            raise InputError(f"--cluster takes a Dask scheduler's address, such as tcp://127.0.0.1:8786 "
                             f"(got {cluster!r})")
    elif not isinstance(cluster, distributed.Client):
        raise InputError(f"cluster= takes a scheduler's address or a distributed.Client, not {type(cluster).__name__}")
    return distributed


@contextlib.contextmanager
def connect(cluster, voice: str, log=print) -> Iterator[dict]:
    """Connect to a Dask scheduler (an address, tcp://HOST:8786, or a `distributed.Client`), check that its
    workers run this project, and yield what `reel.lectures.run_jobs` takes: {"workers", "executor", "ship",
    "identity"}. A client made here is closed on leaving; one given is left open."""
    distributed = check_address(cluster)
    own = isinstance(cluster, str)
    if own:
        try:
            client = distributed.Client(cluster, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the Dask scheduler at {cluster}: {_one_line(e)}") from None
    else:
        client = cluster
    try:
        address = client.scheduler.address
        expected = check_workers(client, voice, address)
        threads = client.nthreads()
        log(f"cluster {address}: {len(threads)} workers, running this project (code "
            f"{expected['code'][:12]}); up to {RETRIES} retries a job")
        crowded = sorted(w for w, n in threads.items() if n > 1)
        if crowded:
            log(f"note: {len(crowded)} workers have several threads, but a worker process renders one scene at a time "
                f"(Manim's settings are per process): start workers with --nthreads 1 and one per core")

        def capacity() -> int:  # jobs in flight: one per worker there is now (they may come and go)
            return max(1, len(client.nthreads()))

        yield {"workers": capacity, "executor": client.get_executor(retries=RETRIES, pure=False), "ship": True,
               "identity": expected}
    finally:
        if own:
            with contextlib.suppress(Exception):
                client.close(timeout=10)


def check_workers(client, voice: str, address: str) -> dict:
    """Every worker runs this project at this version (the `identity` here), else one InputError saying how to fix it."""
    mine = identity(voice)
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
    except TimeoutError:
        raise InputError(f"no worker has joined the Dask scheduler at {address} in {WAIT_FOR_WORKERS} s: start some "
                         f"(dask worker {address} --nthreads 1)") from None
    found = client.run(identity, voice, on_error="return")
    broken = {w: r for w, r in found.items() if isinstance(r, BaseException)}
    if broken:
        worker, error = sorted(broken.items())[0]
        raise InputError(f"{len(broken)} of {len(found)} workers at {address} cannot run transformer-reel (on "
                         f"{worker}: {_one_line(error)}): install it on them, the same version ({INSTALL})")
    other = {w: r for w, r in found.items() if r != mine}
    if other:
        worker, theirs = sorted(other.items())[0]
        raise InputError(f"{len(other)} of {len(found)} workers at {address} run another version of "
                         f"transformer-reel ({differences(mine, theirs)}): install this one on them ({INSTALL} "
                         f"from this checkout) and restart them")
    return mine


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")
