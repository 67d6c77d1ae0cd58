"""Piano-roll PNGs: a valid image of sensible size, bars from the time signature, track legend."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from tunesmith.errors import TunesmithError
from tunesmith.outputs import save_piece
from tunesmith.outputs.pianoroll_image import (
    _figure_size,
    bar_lines,
    default_title,
    gm_instrument_name,
    pianoroll_grid_png,
    save_pianoroll_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_chorale_png_is_a_wide_readable_image(tmp_path, chorale):
    path = save_piece(chorale, tmp_path / "chorale.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    height, width, channels = image.shape
    assert channels in (3, 4)
    assert 1000 < width <= 3000 and 400 < height <= 1100 and width > height
    colours = {tuple(px) for px in (image[..., :3].reshape(-1, 3) * 255).astype(int)[::7]}
    assert len(colours) > 50  # notes in several colours, not a blank canvas


def test_png_title_and_custom_title(tmp_path, duet):
    assert default_title(duet).startswith("duet · ")
    assert "4/4" in default_title(duet) and "120 bpm" in default_title(duet) and "11 notes" in default_title(duet)
    path = save_pianoroll_png(duet, tmp_path / "d.png", title="my duet")
    assert imread(path).shape[1] >= 800


def test_bar_lines_follow_the_time_signature(piece_maker):
    waltz = piece_maker([("Piano", 0, False, [(0, 480, 60, 80), (6720, 480, 62, 80)])], meter=(3, 4))
    bars, beats = bar_lines(waltz)
    assert bars.tolist() == [0, 1440, 2880, 4320, 5760, 7200]  # the last note ends in bar 5
    assert beats[:4].tolist() == [0, 480, 960, 1440] and len(beats) == 15

    jig = piece_maker([("Flute", 73, False, [(0, 2880, 72, 80)])], meter=(6, 8))
    bars, beats = bar_lines(jig)
    assert bars.tolist() == [0, 1440, 2880] and beats.tolist() == [0, 720, 1440, 2160]  # dotted-quarter beats


def test_bar_lines_with_a_meter_change(piece_maker):
    piece = piece_maker([("Piano", 0, False, [(0, 480, 60, 80), (4800, 480, 62, 80)])])
    from symusic import TimeSignature

    piece.score.time_signatures.append(TimeSignature(1920, 3, 4))
    piece.score.time_signatures.append(TimeSignature(3360, 3, 4))  # a repeat changes nothing
    bars, _ = bar_lines(piece)
    assert bars.tolist() == [0, 1920, 3360, 4800, 6240]


def test_figure_width_grows_with_bars_and_is_capped(piece_maker):
    def width(n_bars: int) -> float:
        return _figure_size(piece_maker([("P", 0, False, [(n_bars * 1920 - 480, 480, 60, 80)])]))[0]

    assert width(2) == 8.0
    assert width(8) < width(16) < width(32)
    assert width(1000) == 24.0


def test_instrument_names():
    assert gm_instrument_name(0) == "Acoustic Grand Piano"
    assert gm_instrument_name(40) == "Violin"
    assert gm_instrument_name(0, is_drum=True) == "Drum kit"


def test_grid_of_pieces_and_arrays(tmp_path, duet, drum_groove):
    roll = np.zeros((32, 128))
    roll[np.arange(32), 60 + np.arange(32) % 12] = 1.0
    path = pianoroll_grid_png([duet, drum_groove, roll], tmp_path / "grid.png", cols=2, title="samples")
    height, width = imread(path).shape[:2]
    assert width > height > 300
    with pytest.raises(TunesmithError, match="2 titles for 3 pieces"):
        pianoroll_grid_png([duet, drum_groove, roll], tmp_path / "bad.png", titles=["a", "b"])
    with pytest.raises(TunesmithError, match="empty"):
        pianoroll_grid_png([], tmp_path / "none.png")
    assert not (tmp_path / "bad.png").exists()
