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
registered in `ENGINES` under its `--voice` name. A Piper voice, for instance, would be
an engine whose `key()` holds the model file's digest and whose `synthesise()` runs
`piper --model PATH --output_file WAV` on the text.

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
import hashlib
import json
import os
import re
import subprocess
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


ENGINES = {"flite": Flite, "espeak": Espeak}
VOICES = ("flite", "espeak", "none")  # the --voice choices


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
        key = self.key(text)
        wav, meta = self.cache / f"{key}.wav", self.cache / f"{key}.json"
        try:
            parts = json.loads(meta.read_text(encoding="utf-8"))
            if whole_wav(wav, parts["duration"]):
                now = time.time()
                os.utime(wav, (now, now))  # recently used: the last to be evicted
                self.reused += 1
                return Speech(wav, parts["duration"], tuple(tuple(p) for p in parts["parts"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not there, or damaged (a torn file, a full disk): speak it again
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
            for i, piece in enumerate(cue_texts(text)):
                raw = Path(tmp) / f"{i}.wav"
                words = spoken(piece)
                if not words:  # nothing a voice can say: a short silence holds its place
                    sound = AudioSegment.silent(200)
                else:
                    self.engine.synthesise(pronounced(words), raw)
                    sound = level(AudioSegment.from_wav(raw))
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
