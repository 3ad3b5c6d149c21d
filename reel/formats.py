"""Clip formats: what slide programs, browsers and editors take.

- `mp4`: H.264 in yuv420p, which every slide program plays, with its index (the `moov`
  atom) moved in front of the frames ("faststart") so a browser starts playing before the
  whole clip has arrived. Manim writes the index at the end; `faststart` remuxes (no
  re-encoding).
- `webm`: VP9, as Manim writes it.
- `gif`: one palette for the whole clip, made by ffmpeg from the mp4 Manim renders, in two
  passes (`palettegen` over every frame, then `paletteuse`, which stores in each frame only
  the rectangle that changed). Manim's own GIF runs the same filters but writes its frames
  in a fixed 8-bit colour format: each frame is then stored whole, about 20 times the size
  (softmax, 37 s at 480p15: 90 MB against 8 MB), and its filter graph holds every frame in
  memory until the palette is made.
- `png`: the scene's poster frame (what `--still` writes).
- `--transparent`: an alpha channel to lay the clip over a slide's own background. H.264
  has none, so an mp4 becomes a QuickTime `.mov` (Manim's qtrle, ARGB); a webm stays a
  webm (VP9 with alpha, yuva420p); a png keeps its alpha. A GIF's one-bit transparency
  would fringe every anti-aliased edge, so it is refused.
"""

from __future__ import annotations

import struct
from pathlib import Path

FORMATS = ("mp4", "webm", "gif", "png")


class FormatError(ValueError):
    """A combination of format options that cannot be made."""


def check(fmt: str, transparent: bool) -> None:
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; the formats are: {', '.join(FORMATS)}")
    if transparent and fmt == "gif":
        raise FormatError("--transparent needs --format mp4 (written as .mov), webm or png: a GIF has no alpha channel")


def suffix(fmt: str, transparent: bool = False) -> str:
    """The file suffix a format is written with."""
    check(fmt, transparent)
    if fmt in ("png", "gif", "webm"):
        return f".{fmt}"
    return ".mov" if transparent else ".mp4"


def manim_config(fmt: str, transparent: bool = False) -> dict:
    """The Manim settings that make a clip in this format (png is a still: no movie settings)."""
    check(fmt, transparent)
    cfg: dict = {}
    if fmt == "webm":  # a gif is made from the mp4 (`gif`)
        cfg["format"] = fmt
    if transparent:
        cfg["transparent"] = True  # also sets Manim's movie extension: .webm stays, .mp4 becomes .mov
    return cfg


# What Manim logs as a warning whenever its format settings are set (and set back): that a webm
# "can be slower", that a transparent clip's extension changed. The user asked for exactly that.
_SAID_FOR_NOTHING = ("Output format set as webm", "Output format changed to")


def quiet_format_warnings() -> None:
    """Keep Manim from warning about the format the user chose (every other warning still shows)."""
    import logging

    log = logging.getLogger("manim")
    if not any(getattr(f, "reel_formats", False) for f in log.filters):
        def keep(record: logging.LogRecord) -> bool:
            return not record.getMessage().startswith(_SAID_FOR_NOTHING)

        keep.reel_formats = True  # type: ignore[attr-defined]
        log.addFilter(keep)


def faststart(src: str | Path, dst: str | Path) -> None:
    """Copy an mp4 with its index in front of the media data (the streams are copied, not re-encoded)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        if inp.metadata.get("comment"):
            out.metadata["comment"] = inp.metadata["comment"]
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(*streams):
            if packet.dts is None:  # the demuxer's flushing packets
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)


GIF_DITHER = "dither=bayer:bayer_scale=5:diff_mode=rectangle"  # ordered dither: what stays still stays the same


def gif(src: str | Path, dst: str | Path, work: Path) -> None:
    """A clip as a GIF: one palette for all its frames (`palettegen`), then each frame mapped to it."""
    import subprocess

    from scenes.kit.tools import require

    require("ffmpeg")
    palette = Path(work) / "palette.png"
    for cmd in (["-i", str(src), "-vf", "palettegen=stats_mode=diff", str(palette)],
                ["-i", str(src), "-i", str(palette), "-lavfi", f"paletteuse={GIF_DITHER}", "-f", "gif", str(dst)]):
        r = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *cmd], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"ffmpeg could not make the GIF: {r.stderr.strip().splitlines()[-1:]}")
    palette.unlink()


def top_level_atoms(path: str | Path) -> list[str]:
    """The names of an MP4/QuickTime file's top-level atoms, in file order (`ftyp`, `moov`, `mdat` …)."""
    names: list[str] = []
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return names
            size, kind = struct.unpack(">I4s", head)
            header = 8
            if size == 1:  # a 64-bit size follows
                size = struct.unpack(">Q", f.read(8))[0]
                header = 16
            names.append(kind.decode("latin-1"))
            if size == 0:  # runs to the end of the file
                return names
            if size < header:
                raise ValueError(f"{path}: damaged atom {kind!r} of size {size}")
            f.seek(size - header, 1)


def is_faststart(path: str | Path) -> bool:
    atoms = top_level_atoms(path)
    return "moov" in atoms and "mdat" in atoms and atoms.index("moov") < atoms.index("mdat")
