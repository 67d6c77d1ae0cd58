"""Controls: everything a user can ask of generated music, one object for every model family.

Universal controls (every family): num, bars, seconds, seed, temperature, primer, attempts. The rest are honoured
by the families that list them in `Family.supported_controls`; asking a family for a control it cannot
honour is a ControlError naming the control, never silently dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tunesmith.errors import ControlError
from tunesmith.piece import Piece

if TYPE_CHECKING:  # torch is imported where a generator is made, so that reading controls stays light
    import torch

UNIVERSAL = frozenset({"num", "bars", "seconds", "seed", "temperature", "primer", "attempts"})
ATTEMPTS = 3  # draws per piece, the first included, until its hard controls are met (--attempts)


@dataclass
class Controls:
    """What to generate. None means 'the model decides' (or the family's default)."""

    num: int = 1
    bars: int | None = 16
    seconds: float | None = None
    seed: int | None = 0
    temperature: float | None = None  # None: the run's own (runs.default_temperature), else 1.0
    top_k: int | None = None
    top_p: float | None = None
    primer: str | Path | Piece | None = None  # a path or a Piece
    attempts: int = ATTEMPTS  # a piece missing a hard control is drawn again, up to this many draws in all
    # musical controls (honoured by the families that list them)
    key: str | None = None
    scale_lock: bool = False
    tempo: float | None = None
    time_signature: str | None = None
    instruments: list[str] | None = None
    density: str | float | None = None
    pitch_range: str | None = None
    velocity: str | None = None
    dynamics: str | None = None
    end_on_tonic: bool = False
    loopable: bool = False
    infill: str | None = None
    style: str | None = None
    monophonic: bool = False  # one note at a time (a melody)
    simple_rhythm: bool = False  # durations of 1/2, 1, 1.5, 2, 3 or 4 beats on half-beat positions
    harmonise: bool = False  # keep the primer's melody on top and write the other voices below it
    # family-specific
    attributes: dict[str, float] = field(default_factory=dict)
    variation: float | None = None
    condition_track: str | None = None
    roll_sampling: str | None = None

    @property
    def sampling_temperature(self) -> float:
        """The temperature to sample at: the one asked, else 1.0 (generation fills in the run's own first)."""
        return 1.0 if self.temperature is None else self.temperature

    def __post_init__(self) -> None:
        if self.num < 1:
            raise ControlError(f"--num must be at least 1 (got {self.num})")
        if self.bars is not None and self.bars < 1:
            raise ControlError(f"--bars must be at least 1 (got {self.bars})")
        if self.seconds is not None and self.seconds <= 0:
            raise ControlError(f"--seconds must be positive (got {self.seconds})")
        if self.temperature is not None and self.temperature <= 0:
            raise ControlError(f"--temperature must be positive (got {self.temperature})")
        if self.attempts < 1:
            raise ControlError(f"--attempts must be at least 1 (got {self.attempts})")
        if self.top_k is not None and self.top_k < 1:
            raise ControlError(f"--top-k must be at least 1 (got {self.top_k})")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ControlError(f"--top-p must be in (0, 1] (got {self.top_p})")

    def requested(self) -> set[str]:
        """Names of the controls set to something other than their default."""
        defaults = Controls()
        return {f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(defaults, f.name)}

    def check_supported(self, family_name: str, supported: frozenset[str],
                        reasons: dict[str, str] | None = None) -> None:
        """Raise a ControlError naming every requested control the family cannot honour (and why, where the
        family says)."""
        unsupported = sorted(self.requested() - UNIVERSAL - supported)
        if unsupported:
            flags = ", ".join("--" + n.replace("_", "-") for n in unsupported)
            why = "; ".join(reasons[n] for n in unsupported if reasons and n in reasons)
            raise ControlError(f"the {family_name} model cannot honour {flags}" + (f": {why}" if why else ""))

    def primer_piece(self) -> Piece | None:
        """The primer as a Piece (loaded when given as a path), or None."""
        if self.primer is None:
            return None
        return self.primer if isinstance(self.primer, Piece) else Piece.load(Path(self.primer))

    def generator(self, index: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
        """A torch Generator seeded from `seed` and the piece index: same seed, same music."""
        import torch

        g = torch.Generator(device=device)
        g.manual_seed((self.seed if self.seed is not None else torch.seed()) * 1_000_003 + index)
        return g


def parse_attributes(items: list[str] | str | None) -> dict[str, float]:
    """['density=+1.5', 'pitch=-1'] (or one text of them separated by commas) -> {'density': 1.5, 'pitch': -1.0};
    anything else is a one-line error."""
    if isinstance(items, str):
        items = [part for part in items.replace(";", ",").split(",") if part.strip()]
    out = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ControlError(f"--attribute takes NAME=AMOUNT (e.g. density=+1.5), got {item.strip()!r}")
    return out
