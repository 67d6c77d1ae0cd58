"""What a user asks of a piece, below every model family so that each can honour it.

- controls.py: `Controls`, the one object every family takes (key, tempo, meter, length, instruments...).
- targets.py: the controls parsed into numbers (`resolve_targets`, `length_in_bars`, `parse_instrument`).
- logits.py: `filter_logits` (temperature, top-k, top-p).
- arrange.py: a Piece changed after sampling where that is musically exact: `apply_tempo`,
  `set_time_signature`, `set_instruments`, `transpose_to_key`, `splice_bars`.
"""

from tunesmith.controls.controls import UNIVERSAL, Controls

__all__ = ["UNIVERSAL", "Controls"]
