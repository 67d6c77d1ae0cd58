"""Polyphonic frame model: an LSTM over 88-key frames with an autoregressive output over the keys, so the
notes of a frame are modelled jointly, key by key from low to high (as RNN-NADE, Boulanger-Lewandowski
et al. 2012).

p(frame_t | frames_<t) = prod_i p(x_ti | x_t,<i, h_t). The output is a masked autoencoder (MADE, Germain
et al. 2015) plus direct lower-triangular key-to-key weights: one pass gives every key's logit from the
keys below it, which costs two matrix products per frame instead of NADE's 88 hidden vectors. Its
biases depend on the LSTM state h_t and, through a linear skip, on the previous frame.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.errors import TunesmithError
from tunesmith.models.base import Family, Trained
from tunesmith.models.polyphonic_score import transposition_mixture
from tunesmith.representations.frames import KEYS

if TYPE_CHECKING:
    from tunesmith.controls.controls import Controls
    from tunesmith.piece import Piece
    from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)


@dataclass
class PolyphonicConfig:
    """Settings of the LSTM-NADE frame model and of its training windows."""

    hidden: int = 256  # LSTM units
    layers: int = 1  # LSTM layers
    made_hidden: int = 512  # hidden units of the masked autoregressive output
    dropout: float = 0.3  # on the LSTM output (and between LSTM layers)
    input_dropout: float = 0.0  # drops whole notes of the frames the LSTM reads
    transpose: int = 6  # random whole-piece shifts of up to this many semitones at training time; 0 = strict
    window: int = 200  # frames per training example (long pieces are cut into windows)
    # scoring only: the likelihood of the mixture of this network read in every transposition from -n to +n
    # semitones (a test-time transposition ensemble; see polyphonic_score.transposition_mixture); 0 = alone
    mixture_transpositions: int = 0
    # "lstm-nade": one LSTM over whole frames and a MADE output (above); "tied": the same small LSTM and
    # output at every key, reading the music relative to it (polyphonic_tied.py); there `hidden` is the
    # per-key LSTM and `made_hidden` the per-key output layer
    architecture: str = "lstm-nade"
    window_keys: int = 12  # tied: each key reads the previous frame this many keys either side
    key_embed: int = 8  # tied: size of the learned embedding of each key's register


class FrameModel(nn.Module):
    """What every polyphonic network shares: the loss and the sampling loop. Subclasses give `frame_nll`,
    `step` (one frame of the time model) and `sample_frame` (one frame, key by key from the lowest)."""

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean NLL per scored frame of a padded batch {"rolls": [B, T, 88], "weights": [B, T]}."""
        rolls, weights = batch["rolls"].float(), batch["weights"].float()
        nll = self.frame_nll(rolls) * weights  # [B, T]
        count = weights.sum().clamp(min=1)
        loss = nll.sum() / count
        return loss, {"nll_per_frame": float(loss.detach()), "count": float(count)}

    @torch.no_grad()
    def sample(self, frames: int, generator: torch.Generator, num: int = 1, temperature: float = 1.0,
               primer: torch.Tensor | None = None) -> torch.Tensor:
        """Sample `num` rolls of `frames` frames [num, frames, 88], continuing `primer` [P, 88] if given."""
        device = next(self.parameters()).device
        out = torch.zeros(num, frames, KEYS, device=device)
        start = 0
        if primer is not None and len(primer):
            start = min(len(primer), frames)
            out[:, :start] = primer[:start].to(device).float()
        state, previous = None, torch.zeros(num, KEYS, device=device)
        for t in range(frames):
            h, state = self.step(previous, state)
            if t >= start:
                out[:, t] = self.sample_frame(h, previous, generator, temperature)
            previous = out[:, t]
        return out


class PolyphonicModel(FrameModel):
    """LSTM over frames + masked autoregressive output over the 88 keys of each frame; computes its own loss."""

    def __init__(self, config: PolyphonicConfig):
        super().__init__()
        self.config = config
        h, n = config.hidden, config.made_hidden
        self.lstm = nn.LSTM(KEYS, h, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.key_bias = nn.Linear(h, KEYS)  # key biases b(h_t)
        self.hidden_bias = nn.Linear(h, n)  # hidden biases c(h_t)
        self.skip = nn.Linear(KEYS, KEYS, bias=False)  # previous frame -> key biases
        self.w_in = nn.Parameter(torch.randn(n, KEYS) * 0.05)  # keys -> hidden (masked)
        self.w_out = nn.Parameter(torch.randn(KEYS, n) * 0.05)  # hidden -> keys (masked)
        self.direct = nn.Parameter(torch.zeros(KEYS, KEYS))  # key k -> key i for k < i (masked)
        nn.init.zeros_(self.skip.weight)
        # MADE degrees: hidden unit j sees keys 0..degree_j-1; key i's logit sees hidden units with degree_j <= i
        degree = 1 + torch.arange(n) * (KEYS - 1) // n  # [N] in 1..87
        self.register_buffer("mask_in", (torch.arange(KEYS)[None, :] < degree[:, None]).float(), persistent=False)
        self.register_buffer("mask_out", (degree[None, :] <= torch.arange(KEYS)[:, None]).float(), persistent=False)
        self.register_buffer("mask_direct", torch.tril(torch.ones(KEYS, KEYS), -1), persistent=False)

    def context(self, rolls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """LSTM states and previous frames for predicting each frame: rolls [B, T, 88] -> ([B, T, H], [B, T, 88])."""
        previous = torch.cat([rolls.new_zeros(rolls.shape[0], 1, KEYS), rolls[:, :-1]], dim=1)  # [B, T, 88]
        inputs = previous
        if self.training and self.config.input_dropout > 0:
            inputs = inputs * (torch.rand_like(inputs) >= self.config.input_dropout)
        states, _ = self.lstm(inputs)  # [B, T, H]
        return self.drop(states), previous

    def key_logits(self, states: torch.Tensor, previous: torch.Tensor, rolls: torch.Tensor) -> torch.Tensor:
        """Logit of every key given the keys below it in the true frame: [B, T, 88]."""
        hidden = torch.sigmoid(self.hidden_bias(states) + rolls @ (self.w_in * self.mask_in).T)  # [B, T, N]
        return (self.key_bias(states) + self.skip(previous)  # [B, T, 88]
                + hidden @ (self.w_out * self.mask_out).T + rolls @ (self.direct * self.mask_direct).T)

    def frame_nll(self, rolls: torch.Tensor) -> torch.Tensor:
        """-log p(frame_t | frames_<t) in nats for every frame: rolls [B, T, 88] -> [B, T]."""
        states, previous = self.context(rolls)
        logits = self.key_logits(states, previous, rolls)
        return F.binary_cross_entropy_with_logits(logits, rolls, reduction="none").sum(-1)  # [B, T]

    def step(self, previous: torch.Tensor, state):
        """One frame of the LSTM: previous frames [num, 88] -> (h [num, H], state)."""
        h, state = self.lstm(previous.unsqueeze(1), state)
        return h[:, 0], state

    def sample_frame(self, h: torch.Tensor, previous: torch.Tensor, generator: torch.Generator,
                     temperature: float) -> torch.Tensor:
        """One frame, key by key from the lowest: h [num, H], previous [num, 88] -> [num, 88]."""
        states, previous = h.unsqueeze(1), previous.unsqueeze(1)  # [num, 1, H], [num, 1, 88]
        frame = torch.zeros_like(previous)  # [num, 1, 88]
        for i in range(KEYS):  # key i's logit depends only on keys < i, which are already drawn
            logit = self.key_logits(states, previous, frame)[:, 0, i]  # [num]
            prob = torch.sigmoid(logit / temperature)
            frame[:, 0, i] = (torch.rand(prob.shape, generator=generator, device=prob.device) < prob).float()
        return frame[:, 0]


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
    if config.architecture == "lstm-nade":
        return PolyphonicModel(config)
    if config.architecture == "tied":
        from tunesmith.models.polyphonic_tied import TiedPolyphonicModel
        return TiedPolyphonicModel(config)
    raise TunesmithError(f"unknown polyphonic architecture {config.architecture!r}: use lstm-nade or tied")


def make_dataset(pieces: list[Any], representation: Representation, config: PolyphonicConfig,
                 seed: int, *, train: bool, augment: bool = False) -> RollDataset:
    """Windows from Pieces (encoded by the frames representation) or ready rolls.

    Training data (`train`) scores every frame; validation data, as the benchmark does, does not score each
    piece's first frame. With `augment`, windows are transposed at random (up to `config.transpose`).
    """
    rolls = [p if isinstance(p, np.ndarray) else representation.encode(p) for p in pieces]
    return RollDataset(rolls, config.window, config.transpose if augment else 0, seed, score_first=train)


def generate(run: Trained, controls: Controls) -> list[Piece]:
    """Sample `controls.num` pieces of `controls.bars` bars (or seconds), continuing the primer if given."""
    controls.check_supported("polyphonic", FAMILY.supported_controls)
    from tunesmith.controls.targets import length_in_bars

    rep = copy.copy(run.representation)  # the asked tempo is this generation's, not the run's
    if controls.tempo is not None:
        rep.tempo = float(controls.tempo)
    bars = controls.bars
    if controls.seconds is not None:  # whole bars, as for every family
        bars, rep.tempo = length_in_bars(controls.seconds, (rep.beats_per_bar, 4), controls.tempo,
                                         reference=run.representation.tempo)
    frames = rep.frames_for(bars=bars)
    primer_piece = controls.primer_piece()
    primer = torch.as_tensor(rep.encode(primer_piece)) if primer_piece is not None else None
    pieces = []
    for i in range(controls.num):
        roll = run.model.sample(frames, controls.generator(i, run.device), 1, controls.temperature, primer)
        pieces.append(rep.decode(roll[0].cpu().numpy(), name=f"polyphonic-{i + 1}"))
    log.info("sampled %d piece(s) of %d frames", len(pieces), frames)
    return pieces


FAMILY = Family(
    name="polyphonic",
    config_class=PolyphonicConfig,
    representation={"kind": "frames", "frames_per_beat": 1},
    build_model=build_model,
    make_dataset=make_dataset,
    generate=generate,
    supported_controls=frozenset({"tempo"}),
    collate=collate_rolls,
)
