"""Bundled corpora shipped already converted: the Bach chorales as the MIDI files their cache would hold.

music21 parses the 350 chorales in about 100 s of a core, which every new install (`make demo`, the studio's
Train page, the test suite) would spend before its first step. `bach.zip` beside this module holds what
`load_corpus("bach")` builds: an index (names, sources, rejected files, the cache version) and the MIDI bytes,
about 300 KB. A zip made under another cache version is not read (the corpus is converted as before), and a
test converts the first chorales again and compares them with the shipped ones.

Written again, after a change to the conversion (and CACHE_VERSION), by

    python -c "from tunesmith.data.corpora import ship_bundled; ship_bundled('bach')"
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import symusic

from tunesmith.data.safe import Rejected
from tunesmith.fileio import write_atomic
from tunesmith.piece import Piece

SHIPPED = Path(__file__).with_name("bundled")


def shipped_path(name: str) -> Path:
    return SHIPPED / f"{name}.zip"


def read_shipped(name: str, version: int) -> tuple[list[Piece], list[Rejected]] | None:
    """The shipped corpus `name` converted under cache `version`, or None (none shipped, or another version)."""
    path = shipped_path(name)
    if not path.exists():
        return None
    with zipfile.ZipFile(path) as archive:
        index = json.loads(archive.read("index.json"))
        if index.get("version") != version:
            return None
        pieces = [Piece(symusic.Score.from_midi(archive.read(f"midi/{e['file']}")), name=e["name"],
                        source=e["source"], tags={"corpus": name}) for e in index["pieces"]]
    return pieces, [Rejected(*r) for r in index["rejected"]]


def pack(folder: Path, name: str) -> Path:
    """Write a built cache `folder` (index.json, midi/) as the shipped zip of `name`, atomically; the same
    cache gives the same bytes (fixed dates)."""
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for file in [folder / "index.json", *sorted((folder / "midi").iterdir())]:
                info = zipfile.ZipInfo(str(file.relative_to(folder)), date_time=(2020, 1, 1, 0, 0, 0))
                archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)

    return write_atomic(shipped_path(name), write)
