"""The polyphonic family: a frame model over 88-key frames (the polyphonic benchmark's), its training windows,
its scorer and `generate`. The settings and the LSTM-NADE network are in polyphonic_net.py, the pitch-tied
network in polyphonic_tied.py, the benchmark's metric in polyphonic_score.py.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.base import Family, Trained
from tunesmith.models.polyphonic_net import FrameModel, PolyphonicConfig, PolyphonicModel
from tunesmith.models.polyphonic_score import transposition_mixture
from tunesmith.models.polyphonic_tied import TiedPolyphonicModel
from tunesmith.representations.frames import KEYS, LOWEST_KEY, FrameRepresentation

if TYPE_CHECKING:
    from tunesmith.controls.controls import Controls
    from tunesmith.piece import Piece
    from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)


def model_scorer(model: FrameModel, device: str | torch.device = "cpu", transpositions: int | None = None):
    """A FrameScorer (roll -> per-frame NLL) from a trained model, whole pieces at once, in eval mode: the
    mixture over transpositions -n..+n, n = `transpositions` or else the config's (0: the network alone)."""

    @torch.no_grad()
    def score(roll: np.ndarray) -> np.ndarray:
        model.eval()
        rolls = torch.as_tensor(np.asarray(roll), dtype=torch.float32, device=device).unsqueeze(0)
        return model.frame_nll(rolls)[0].double().cpu().numpy()

    n = model.config.mixture_transpositions if transpositions is None else transpositions
    return transposition_mixture(score, n) if n > 0 else score


class RollDataset(torch.utils.data.Dataset):
    """Windows of [frames, 88] rolls; each draw shifts its piece by a random in-range transposition.

    A draw's shift is fixed by (seed, epoch, window, how often that window was drawn this epoch), not by the
    draws before it, so a run resumed in the middle of an epoch draws what the uninterrupted run drew.
    `score_first=False` leaves each piece's first frame out of the loss, as the benchmark does.
    """

    def __init__(self, rolls: list[np.ndarray], window: int, transpose: int = 0, seed: int = 0,
                 score_first: bool = True):
        self.transpose, self.score_first, self.seed, self.epoch = transpose, score_first, seed, 0
        self.draws: dict[int, int] = {}  # window index -> draws of it this epoch
        self.items: list[tuple[np.ndarray, int, int, bool]] = []  # (window, lowest key, highest key, is first)
        for roll in rolls:
            roll = np.asarray(roll, dtype=np.uint8)
            keys = np.flatnonzero(roll.any(0))
            low, high = (int(keys[0]), int(keys[-1])) if len(keys) else (0, KEYS - 1)
            for start in range(0, len(roll), window):
                self.items.append((roll[start:start + window], low, high, start == 0))

    def set_epoch(self, epoch: int) -> None:
        """Start drawing `epoch`'s transpositions (the loop calls this at the start of every epoch)."""
        self.epoch, self.draws = epoch, {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        roll, low, high, first = self.items[index]
        shift = 0
        if self.transpose > 0:
            draw = self.draws.get(index, 0)
            self.draws[index] = draw + 1
            rng = np.random.default_rng((self.seed, self.epoch, index, draw))
            shift = int(rng.integers(max(-self.transpose, -low), min(self.transpose, KEYS - 1 - high) + 1))
        weights = torch.ones(len(roll))
        if first and not self.score_first:
            weights[0] = 0.0
        roll = np.roll(roll, shift, axis=1) if shift else roll.copy()
        return {"roll": torch.from_numpy(roll), "weights": weights}


def collate_rolls(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pad to the longest: {"rolls": [B, T, 88] float, "weights": [B, T] (0 on padding and unscored frames)}."""
    longest = max(len(item["roll"]) for item in items)
    rolls = torch.zeros(len(items), longest, KEYS)
    weights = torch.zeros(len(items), longest)
    for i, item in enumerate(items):
        rolls[i, :len(item["roll"])] = item["roll"].float()
        weights[i, :len(item["roll"])] = item["weights"]
    return {"rolls": rolls, "weights": weights}


def build_model(config: PolyphonicConfig, representation: Representation | None = None) -> FrameModel:
    """The network `config.architecture` names (the frames representation has a fixed 88 keys)."""
    return TiedPolyphonicModel(config) if config.architecture == "tied" else PolyphonicModel(config)


def make_dataset(pieces: list[Any], representation: Representation, config: PolyphonicConfig,
                 seed: int, *, train: bool, augment: bool = False) -> RollDataset:
    """Windows from Pieces (encoded by the frames representation) or ready rolls.

    Training data (`train`) scores every frame; validation data, as the benchmark does, does not score each
    piece's first frame. With `augment`, windows are transposed at random (up to `config.transpose`).
    """
    rolls = [p if isinstance(p, np.ndarray) else representation.encode(p) for p in pieces]
    return RollDataset(rolls, config.window, config.transpose if augment else 0, seed, score_first=train)


def generate(run: Trained, controls: Controls) -> list[Piece]:
    """Sample `controls.num` pieces of `controls.bars` bars (or seconds), continuing the primer if given.

    --scale-lock and --pitch-range silence the keys they leave out while each frame is drawn (the keys above
    know it); --key without the lock moves the finished piece to the key; the frames' one velocity, the
    instruments, dynamics, the loop point and the final tonic are set on the finished piece
    (controls/shaping.py). The frames hold one metre; --infill is refused (the network reads forwards only)."""
    controls.check_supported("polyphonic", FAMILY.supported_controls, FAMILY.refused)
    from tunesmith.controls.arrange import transpose_to_key
    from tunesmith.controls.shaping import allowed_pitches, grid_targets, shape
    from tunesmith.controls.targets import length_in_bars

    model, trained_rep = run.model, run.representation
    if not isinstance(model, FrameModel) or not isinstance(trained_rep, FrameRepresentation):
        raise TunesmithError(f"{run.path} is not a polyphonic run (its network is a {type(model).__name__})")
    rep = copy.copy(trained_rep)  # the asked tempo is this generation's, not the run's
    if controls.tempo is not None:
        rep.tempo = float(controls.tempo)
    bars = controls.bars
    if controls.seconds is not None:  # whole bars, as for every family
        bars, rep.tempo = length_in_bars(controls.seconds, (rep.beats_per_bar, 4), controls.tempo,
                                         reference=trained_rep.tempo)
    frames = rep.frames_for(bars=bars)
    primer_piece = controls.primer_piece()
    targets = grid_targets(controls, primer_piece, "polyphonic", (rep.beats_per_bar, 4), trained_rep.tempo)
    allowed = allowed_pitches(targets, LOWEST_KEY, KEYS)
    primer = torch.as_tensor(rep.encode(primer_piece)) if primer_piece is not None else None
    pieces = []
    for i in range(controls.num):
        roll = model.sample(frames, controls.generator(i, run.device), 1, controls.sampling_temperature, primer,
                            None if allowed is None else allowed.tolist())
        piece = rep.decode(roll[0].cpu().numpy(), name=f"polyphonic-{i + 1}")
        if targets.key is not None and targets.scale is None and controls.key and piece.note_count:
            piece = transpose_to_key(piece, targets.key, targets.pitch_range)
        pieces.append(shape(piece, targets))
    log.info("sampled %d piece(s) of %d frames", len(pieces), frames)
    return pieces


FAMILY = Family(
    name="polyphonic",
    config_class=PolyphonicConfig,
    representation={"kind": "frames", "frames_per_beat": 1},
    build_model=build_model,
    make_dataset=make_dataset,
    generate=generate,
    supported_controls=frozenset({"tempo", "key", "scale_lock", "time_signature", "instruments", "pitch_range",
                                  "velocity", "dynamics", "end_on_tonic", "loopable"}),
    afterwards=frozenset({"tempo", "key", "instruments", "velocity", "dynamics", "end_on_tonic", "loopable"}),
    limits={"time_signature": "its frames' metre"},
    refused={
        "infill": "it reads its frames forwards only and cannot fill a gap between given bars (the token models "
                  "and the vae can)",
        "density": "its frames have no notes-per-bar conditioning or latent to steer",
        "style": "it learns no style tags (a token model's conditioning does)",
        "top_k": "it draws each key on or off, not tokens", "top_p": "it draws each key on or off, not tokens",
        "monophonic": "its frames are chords of the whole keyboard",
        "simple_rhythm": "its frames are its rhythm",
        "harmonise": "it continues a primer and keeps no given melody on top",
        "attributes": "it has no latent attribute vectors (the vae has)",
        "variation": "it has no encoder to sample near a primer (the vae has)",
        "condition_track": "it has one track of 88 keys", "roll_sampling": "it samples its keys one by one",
    },
    collate=collate_rolls,
)
