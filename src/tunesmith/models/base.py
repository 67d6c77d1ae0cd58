"""The family contract: what a model family gives so that one training loop, one run directory and one
`generate` serve every family.

A family is one module that defines a config dataclass, its network and `FAMILY = Family(...)`, and one line
in `tunesmith.models.MODELS`. Everything the rest of the package calls on a family is written here as a
Protocol: the required parts (`FamilyModel.loss`, `BuildModel`, `MakeDataset`) and the optional hooks, each
checked with `isinstance` where it is used (`TrainingSnapshot` on the network, `EpochDataset` on the training
data, `OwnOptimizers` with a family's own `TrainStep`, `TokenModel` and `GuessingDecoder` for the token sampler).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from tunesmith.controls.controls import Controls
    from tunesmith.piece import Piece
    from tunesmith.representations.base import Representation

# keys of the metrics dict of `FamilyModel.loss` that the training loop reads (any others are only logged)
COUNT = "count"
TOKENS = "tokens"


@runtime_checkable
class FamilyModel(Protocol):
    """What every family's network (an `nn.Module`) gives the training loop: its own loss.

    `loss(batch) -> (loss, metrics)`: `batch` is what the family's `collate` made of its dataset's examples,
    already on the device; `loss` is a scalar tensor, the mean over the batch, that the default step
    minimises and that validation (in eval mode) averages. `metrics` ({name: number}) is logged with each
    step; two keys mean something to the loop:

    - `count` (COUNT): how many things `loss` is the mean over (scored tokens, frames, phrases). Validation
      weighs each batch's loss by it, so the valid loss is a mean per thing over the whole split, whatever
      the batches; without it every batch weighs 1.
    - `tokens` (TOKENS): how many tokens the batch fed the network, for the tokens per second shown while
      training; without it no rate is shown.
    """

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """(Mean loss of the batch, {metric name: value}); see the class docstring for `count` and `tokens`."""
        ...


@runtime_checkable
class OwnOptimizers(Protocol):
    """A network trained by its family's own `TrainStep` (the GAN) also chooses its optimizers."""

    def configure_optimizers(self, train_config: Any) -> dict[str, torch.optim.Optimizer]:
        """{name: optimizer}; the loop sets every group's learning rate from its schedule before each step."""
        ...


@runtime_checkable
class TrainingSnapshot(Protocol):
    """Optional on a network: pieces that show what it makes so far (the GAN's phrases from fixed latents).

    The loop calls it every `snapshot_every` steps and draws the pieces as a piano-roll grid in
    run_dir/samples/step_NNNNNNN.png. It must not draw from torch's global random stream (a resumed run
    would then differ from an uninterrupted one).
    """

    def training_snapshot(self, step: int) -> list[Piece]:
        """A few pieces sampled from the network as it is at `step`."""
        ...


@runtime_checkable
class EpochDataset(Protocol):
    """Optional on a training dataset whose examples change from epoch to epoch (random transpositions)."""

    def set_epoch(self, epoch: int) -> None:
        """Called before each epoch's batches are drawn (also on resume), with the epoch's number from 0."""
        ...


@runtime_checkable
class TokenModel(Protocol):
    """What the shared token sampler (tunesmith.generation.sample) needs of a family with `generate=None`.

    The network is also called as `model(tokens) -> (logits, state)`; a `context` attribute, when it has one,
    is the longest input it reads (the sampler then feeds it the last `context` tokens).
    """

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed new tokens [B, t] after `state` (None: from the start); the next token's logits [B, V] and
        the new state."""
        ...


@runtime_checkable
class GuessingDecoder(Protocol):
    """Optional on a token model whose cache takes several tokens at once: the sampler feeds guesses of the
    next tokens with each sampled one and keeps those it then draws anyway (`guessing` says it may)."""

    guessing: bool

    def verify(self, tokens: np.ndarray, state: Any) -> tuple[torch.Tensor, Any]:
        """Logits after each of `tokens` [1, t], and a pending state that `commit` settles."""
        ...

    def commit(self, pending: Any, n: int) -> Any:
        """The state after the first `n` of the tokens given to `verify`."""
        ...


class Examples(Protocol):
    """A family's dataset, map-style as torch's: how many examples, and each by its index (the family's
    `collate` makes a batch of a list of them)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class BuildModel(Protocol):
    """`build_model(config, representation) -> nn.Module`: a fresh network for this config, with the
    representation's sizes (vocabulary, tracks, pitches) filled in; it must satisfy `FamilyModel`."""

    def __call__(self, config: Any, representation: Representation) -> torch.nn.Module: ...


class MakeDataset(Protocol):
    """`make_dataset(pieces, representation, config, seed, *, train, augment) -> Examples`.

    - `train`: the pieces are the training split (True) or data to validate or score on (False). A family
      may cut them differently: the GAN takes overlapping training phrases but spaced-out validation ones,
      the polyphonic family scores each piece's first frame only in training.
    - `augment`: transpose at random (or the family's own augmentation). The trainer passes it for the
      training split only, and `--no-augment` changes nothing else about what that split holds.
    - `seed`: the only source of the dataset's randomness (with the epoch, for an `EpochDataset`).
    """

    def __call__(self, pieces: list[Piece], representation: Representation, config: Any, seed: int, *,
                 train: bool, augment: bool) -> Examples: ...


class TrainStep(Protocol):
    """A family's own optimisation step (the GAN's critic and generator updates), replacing the loop's.

    Called with the batch on the device and the optimizers of the network's `configure_optimizers`
    (`OwnOptimizers`), their learning rates already set by the loop's schedule; `step` counts from 0.
    Returns the step's metrics, with `loss` shown in the progress bar. All randomness comes from torch's
    global stream, which checkpoints keep, so a resumed run repeats the same steps.
    """

    def __call__(self, model: Any, batch: Any, optimizers: dict[str, torch.optim.Optimizer],
                 step: int) -> dict[str, float]: ...


class Generate(Protocol):
    """`generate(run, controls) -> list[Piece]`: `controls.num` pieces, honouring `controls` or raising
    ControlError for what the family cannot do."""

    def __call__(self, run: Trained, controls: Controls) -> list[Piece]: ...


class FitPieces(Protocol):
    """`fit_pieces(pieces, config) -> pieces`: the training pieces as the family learns them (the GAN's,
    moved to one key), which the representation is fitted to."""

    def __call__(self, pieces: list[Piece], config: Any) -> list[Piece]: ...


class Trained(Protocol):
    """What a family's `generate` reads of a loaded run (`tunesmith.runs.TrainedRun` is one)."""

    path: Path
    config: dict[str, Any]
    model: torch.nn.Module
    representation: Representation
    device: torch.device


@dataclass
class Family:
    """A model family, registered by name in `tunesmith.models.MODELS`.

    - `name`: the name it is registered and saved under (config.json's "family").
    - `config_class`: a @dataclass of the network's settings, all with defaults, built by
      `tunesmith.config.config_from_dict` and checking itself in `__post_init__`; sizes that come from the
      representation (the vocabulary, tracks, pitches) are not settings: `build_model` reads them from it.
    - `representation`: the default representation config, e.g. {"kind": "tokens", "tokenization": "REMI"}.
    - `build_model` (BuildModel) and `make_dataset` (MakeDataset): the network and its examples.
    - `generate` (Generate): sampling; None for token language models (`TokenModel`), which share the
      sampler in tunesmith.generation.sample.
    - `supported_controls`: names of Controls fields this family honours beyond the universal ones.
    - `afterwards`: those of them honoured on the finished piece (tempo, programs, velocities...), not while
      sampling; README's controls table is made from these declarations (`tunesmith models --controls`).
    - `refused`: why a control is not honoured (control -> reason), said in its error and in the table.
    - `limits`: a few words on a supported control honoured within a limit (control -> words), in the table.
    - `collate`: a list of examples -> a batch; None: torch's default_collate.
    - `train_step` (TrainStep): the family's own optimisation step; None: the loop's (AdamW or Muon on
      `loss`, with gradient clipping).
    - `fit_pieces` (FitPieces): the pieces the representation is fitted to; None: the training pieces.
    """

    name: str
    config_class: type
    representation: dict[str, Any]
    build_model: BuildModel
    make_dataset: MakeDataset
    generate: Generate | None = None
    supported_controls: frozenset[str] = frozenset()
    afterwards: frozenset[str] = frozenset()
    refused: dict[str, str] = dataclasses.field(default_factory=dict)
    limits: dict[str, str] = dataclasses.field(default_factory=dict)
    collate: Callable[[list[Any]], Any] | None = None
    train_step: TrainStep | None = None
    fit_pieces: FitPieces | None = None

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.config_class):
            raise TunesmithError(f"family {self.name!r}: config_class must be a @dataclass "
                                 f"(got {self.config_class!r})")
        if not self.afterwards <= self.supported_controls or set(self.refused) & self.supported_controls:
            raise TunesmithError(f"family {self.name!r}: `afterwards` must be supported controls and `refused` "
                                 "must not be")


# the strict settings reader lives in tunesmith.config (below the representations, which use it too)
from tunesmith.config import config_from_dict, config_to_dict  # noqa: E402, F401
