"""Engraved scores: the MusicXML export (outputs/score.py) drawn as SVG by verovio.

verovio's wheel ships its music fonts, so engraving needs no TeX, no MuseScore and no download. A score is one
SVG: an A4-wide page as tall as its music (systems broken to the width, the title on top). A piece too long for
verovio's tallest page (about twenty A4 pages of music) is drawn on several pages, stacked in the same SVG.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_bytes_atomic
from tunesmith.piece import Piece

# verovio's units are tenths of a millimetre: 2100 is A4's width; 60000 the tallest page it draws, cut to the
# music's height by adjustPageHeight. scale 50 gives an SVG 1050 px wide.
PAGE_HEIGHT = 60000
OPTIONS = {
    "inputFrom": "musicxml",
    "pageWidth": 2100,
    "adjustPageHeight": True,
    "breaks": "auto",
    "scale": 50,
    "header": "auto",
    "footer": "none",
    "xmlIdSeed": 1,  # the same score gives the same SVG, byte for byte
}
# verovio's font resources serve the thread that loaded them first: a toolkit made in another thread cannot load
# its fonts (and draws nothing). Every engraving runs in this one thread, so a server's threads can all engrave.
_VEROVIO = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verovio")
_SVG_SIZE = re.compile(r'^<svg\b[^>]*?\bwidth="(\d+(?:\.\d+)?)px"[^>]*?\bheight="(\d+(?:\.\d+)?)px"')


def engrave_musicxml(xml: bytes | str, name: str, page_height: int = PAGE_HEIGHT) -> str:
    """MusicXML drawn as one SVG document (several pages stacked top to bottom); `name` is for errors."""
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    pages, log_text = _VEROVIO.submit(_render, text, page_height).result()
    # verovio reads what it cannot parse as an empty score: a score with no bar drawn was not understood
    if not any('class="measure"' in page for page in pages):
        reason = log_text.strip().splitlines()
        raise TunesmithError(f"{name}: verovio could not engrave the score"
                             + (f" ({reason[0]})" if reason else " (it found no bars in the MusicXML)"))
    return pages[0] if len(pages) == 1 else _stack(pages)


def _render(text: str, page_height: int) -> tuple[list[str], str]:
    """verovio's SVG pages of the MusicXML `text`, and its log (in the verovio thread)."""
    import verovio

    toolkit = verovio.toolkit()
    toolkit.setOptions({**OPTIONS, "pageHeight": page_height})
    loaded = toolkit.loadData(text)
    pages = [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)] if loaded else []
    return pages, toolkit.getLog() or ""


def _stack(pages: list[str]) -> str:
    """Several page SVGs as one, each page below the one before."""
    width, top, placed = 0.0, 0.0, []
    for page in pages:
        page = re.sub(r"^<\?xml[^>]*>\s*", "", page.strip())
        size = _SVG_SIZE.match(page)
        page_width, page_height = (float(size.group(1)), float(size.group(2))) if size else (0.0, 0.0)
        placed.append(page.replace("<svg", f'<svg x="0" y="{top:g}"', 1))
        width, top = max(width, page_width), top + page_height
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'width="{width:g}px" height="{top:g}px">\n' + "\n".join(placed) + "\n</svg>\n")


def engrave_svg(piece: Piece) -> str:
    """`piece` engraved as an SVG score (see the module's docstring)."""
    from tunesmith.outputs.score import musicxml_bytes

    return engrave_musicxml(musicxml_bytes(piece), piece.name)


def save_svg(piece: Piece, path: str | Path, musicxml: bytes | None = None) -> Path:
    """Write `piece` as an engraved SVG score (atomically); `musicxml`, when given, is its score already
    exported (so that writing both files notates the piece once)."""
    svg = engrave_svg(piece) if musicxml is None else engrave_musicxml(musicxml, piece.name)
    return write_bytes_atomic(Path(path), svg.encode("utf-8"))
