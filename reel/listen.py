"""Is the narration understood, and in step with its subtitles? PocketSphinx listens, cue by cue.

    from reel.listen import cue_wer
    report = cue_wer("DIR/lecture.mp4", "DIR/lecture.srt", first=8)
    report["wer"]          # word errors ÷ words said, over the cues listened to

Each cue's stretch of the soundtrack is cut out at its subtitle times and recognised on
its own (PocketSphinx's English model, shipped in its wheel; a development dependency).
A voice nobody understands fails, and so do subtitles out of step with the speech: a
cue's words are then not in its stretch of sound.

    from reel.listen import Listener, cue_errors
    cue_errors(narrator.speak(caption), Listener())   # one caption's cues, without video

The words a cue should be heard as are its *spoken* form (`reel.narration.spoken`: "<bos>"
is "beginning of sentence", "√8" "the square root of eight"), numbers in words. The
recogniser knows the lecture's technical words (`VOCABULARY`, below, says why that is a fair
measure and a grammar built from the script would not be).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

RATE = 16000  # PocketSphinx's English model hears 16 kHz mono
PAD = 0.25  # seconds of silence around each piece: the recogniser needs some before the first word to settle


def words(text: str) -> list[str]:
    """The words of a caption as a recogniser writes them: spelled-out symbols and numbers, no punctuation.

    A possessive is written as the plural it sounds like ("decoder's" → "decoders"): no
    listener hears the apostrophe, so neither side of the comparison keeps it (`heard_words`)."""
    from reel.narration import spoken

    text = spoken(text.replace("\u2039", "<").replace("\u203a", ">")).lower()  # a subtitle's ‹bos› is <bos>
    text = re.sub(r"(\d+)(?:st|nd|rd|th)\b", lambda m: " " + ordinal_words(int(m.group(1))) + " ", text)
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text)
    return [_sounded(w) for w in re.findall(r"[a-z]+(?:'[a-z]+)?", text)]


def heard_words(hypothesis: str) -> list[str]:
    """The recogniser's words, written as `words` writes the caption's."""
    return [_sounded(w.rstrip(".")) for w in hypothesis.lower().split()]  # its letters are "m." and so on


def _sounded(word: str) -> str:
    return word[:-2] + "s" if word.endswith("'s") else word


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        return ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    return " ".join(ONES[int(d)] for d in str(n))


ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
           "twelve": "twelfth"}


def ordinal_words(n: int) -> str:
    """5 → "fifth", 21 → "twenty first"."""
    *head, last = number_words(n).split()
    last = ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return " ".join([*head, last])


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def pcm(media: str | Path, start: float, end: float) -> bytes:
    """16-bit mono 16 kHz samples of `media` from `start` to `end` seconds."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{start:.3f}", "-to", f"{end:.3f}", "-i", str(media),
                        "-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace").strip())
    return r.stdout


# The lecture's technical words that PocketSphinx's general English dictionary (CMUdict) lacks,
# with their pronunciations (its ARPAbet phones). Why add them: the test asks whether a listener
# who knows the subject understands the voice. Without them every "softmax" is an error however
# clearly it is said, and the measure is the dictionary's, not the voice's. Adding words makes them
# possible, nothing more: the recogniser still chooses among all of English (the general language
# model, in which each added word is one more unigram), never among the script's sentences. A
# grammar or language model built from the captions would make the test pass on any voice that
# makes roughly the right sounds in the right order; that is not done, and must not be.
VOCABULARY = {
    "encoder": ["EH N K OW D ER", "IH N K OW D ER"],
    "encoders": ["EH N K OW D ER Z", "IH N K OW D ER Z"],
    "softmax": ["S AO F T M AE K S"],
    "cosine": ["K OW S AY N"],
    "cosines": ["K OW S AY N Z"],
    "relu": ["R EY L UW"],
    "logit": ["L OW JH IH T", "L AA JH IH T"],
    "logits": ["L OW JH IH T S", "L AA JH IH T S"],
    "exponentiate": ["EH K S P OW N EH N SH IY EY T"],
    "sublayer": ["S AH B L EY ER"],
    "sublayers": ["S AH B L EY ER Z"],
    "embeddings": ["EH M B EH D IH NG Z"],
    "normalise": ["N AO R M AH L AY Z"],  # the captions' British spellings
    "normalised": ["N AO R M AH L AY Z D"],
}


class Listener:
    def __init__(self, vocabulary: bool = True) -> None:
        """PocketSphinx's English model; with `vocabulary`, its dictionary knows the lecture's words too."""
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=RATE, logfn="/dev/null")
        if vocabulary:  # a second pronunciation is the dictionary's "word(2)"; the recogniser writes "word"
            entries = [(w if i == 0 else f"{w}({i + 1})", phones) for w, prons in VOCABULARY.items()
                       for i, phones in enumerate(prons)]
            for n, (word, phones) in enumerate(entries, 1):
                self.decoder.add_word(word, phones, update=n == len(entries))

    def hear(self, samples: bytes) -> str:
        d = self.decoder
        silence = bytes(2 * int(RATE * PAD))
        d.start_utt()
        d.process_raw(silence + samples + silence, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""


def cue_wer(media: str | Path, srt_path: str | Path, first: int | None = None, listener: Listener | None = None) -> dict:
    """Recognise each subtitle cue's stretch of sound; the word error rate over them, and each cue's result."""
    import srt

    cues = list(srt.parse(Path(srt_path).read_text(encoding="utf-8")))[:first]
    listener = listener or Listener()
    errors = total = 0
    heard = []
    for cue in cues:
        said = words(cue.content.replace("\n", " "))
        got = heard_words(listener.hear(pcm(media, cue.start.total_seconds(), cue.end.total_seconds())))
        e = edit_distance(said, got)
        errors += e
        total += len(said)
        heard.append({"start": cue.start.total_seconds(), "end": cue.end.total_seconds(), "said": " ".join(said),
                      "heard": " ".join(got), "errors": e})
    return {"wer": errors / max(total, 1), "words": total, "cues": heard}


def cue_errors(speech, listener: Listener) -> list[dict]:
    """Each cue of a spoken caption (`reel.narration.Speech`) recognised from its own stretch of the WAV."""
    found = []
    for cue, start, end in speech.parts:
        said = words(cue)
        got = heard_words(listener.hear(pcm(speech.path, start, end)))
        found.append({"cue": cue, "said": " ".join(said), "heard": " ".join(got), "words": len(said),
                      "errors": edit_distance(said, got)})
    return found
