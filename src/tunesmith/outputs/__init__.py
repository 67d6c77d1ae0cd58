"""Writing music: MIDI, WAV (SoundFont render), piano-roll PNG, MusicXML and engraved SVG scores, chosen by
file suffix.

Every writer goes through tunesmith.fileio, so a file on disk is either the old one or the complete
new one. The heavy parts (matplotlib, music21, verovio) are imported only by the writer that needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
AUDIO_SUFFIXES = (".wav",)
IMAGE_SUFFIXES = (".png",)
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl")
ENGRAVED_SUFFIXES = (".svg",)
OUTPUT_SUFFIXES = MIDI_SUFFIXES + AUDIO_SUFFIXES + IMAGE_SUFFIXES + SCORE_SUFFIXES + ENGRAVED_SUFFIXES


def _writer(suffix: str) -> Callable[[Piece, Path], Path]:
    """The function that writes a file with this suffix."""
    if suffix in MIDI_SUFFIXES:
        from tunesmith.outputs.midi import save_midi

        return save_midi
    if suffix in AUDIO_SUFFIXES:
        from tunesmith.outputs.audio import render_wav

        return render_wav
    if suffix in IMAGE_SUFFIXES:
        from tunesmith.outputs.pianoroll_image import save_pianoroll_png

        return save_pianoroll_png
    if suffix in SCORE_SUFFIXES:
        from tunesmith.outputs.score import save_musicxml

        return save_musicxml
    if suffix in ENGRAVED_SUFFIXES:
        from tunesmith.outputs.engrave import save_svg

        return save_svg
    raise TunesmithError(f"cannot write a {suffix or 'suffix-less'!r} file "
                         f"(expected one of {', '.join(OUTPUT_SUFFIXES)})")


def save_piece(piece: Piece, path: str | Path) -> Path:
    """Write `piece` to `path`, the kind chosen by suffix (.mid/.midi, .wav, .png, .musicxml/.xml/.mxl, .svg)."""
    path = Path(path)
    writer = _writer(path.suffix.lower())
    if path.is_dir():
        raise TunesmithError(f"{path} is a folder, not a file name")
    written = writer(piece, path)
    log.info("wrote %s", written)
    return written


def write_piece_files(piece: Piece, out_dir: str | Path, stem: str, wav: bool = True, png: bool = True,
                      musicxml: bool = False, svg: bool = False) -> dict[str, Path]:
    """Write stem.mid (always) and stem.wav / stem.png / stem.musicxml / stem.svg (the engraved score) into
    `out_dir`; return {kind: path}."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TunesmithError(f"{out_dir} is a file, not a folder")
    wanted = {"mid": True, "wav": wav, "png": png, "musicxml": musicxml}
    files = {kind: save_piece(piece, out_dir / f"{stem}.{kind}") for kind, on in wanted.items() if on}
    if svg and musicxml:  # engrave the score just written rather than notate the piece twice
        from tunesmith.outputs.engrave import save_svg

        files["svg"] = save_svg(piece, out_dir / f"{stem}.svg", musicxml=files["musicxml"].read_bytes())
        log.info("wrote %s", files["svg"])
    elif svg:
        files["svg"] = save_piece(piece, out_dir / f"{stem}.svg")
    return files
