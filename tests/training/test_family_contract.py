"""The family contract (tunesmith.models.base): a family is one module and one line in the registry. A throwaway
family registered at run time trains, saves, loads and generates like the built-in ones, and every built-in
family keeps the contract (the training split and augmentation are separate arguments)."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from tunesmith.controls.controls import Controls
from tunesmith.data import load_corpus
from tunesmith.errors import TunesmithError
from tunesmith.generation.run import load_run
from tunesmith.models import MODELS, Family, get_family, register_family, unregister_family
from tunesmith.models.base import FamilyModel, GuessingDecoder, TokenModel, TrainingSnapshot
from tunesmith.models.token_lm import TOKEN_CONTROLS, TokenLM, make_token_dataset
from tunesmith.representations import representation_from_dict
from tunesmith.representations.frames import FrameRepresentation
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.training.trainer import train

BUILT_IN = ["rnn", "transformer", "vae", "gan", "polyphonic"]


@dataclass
class BigramConfig:
    """The smallest token language model: the next token's logits depend on the last token only."""

    window: int = 32
    vocab_size: int = 0  # from the tokenizer
    pad_id: int = 0


class Bigram(TokenLM):
    """Row t of a table holds the logits of the token after t; TokenLM gives the loss and `step`."""

    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config, self.pad_id = config, config.pad_id
        self.embed = nn.Embedding(config.vocab_size, config.vocab_size)

    def forward(self, tokens: torch.Tensor, state=None):
        return self.embed(tokens), state  # [B, T, V]


def build_bigram(config: BigramConfig, representation: TokenRepresentation) -> Bigram:
    config.vocab_size, config.pad_id = representation.vocab_size, representation.pad_id
    return Bigram(config)


BIGRAM = Family(name="bigram", config_class=BigramConfig, representation={"kind": "tokens", "tokenization": "REMI"},
                build_model=build_bigram, make_dataset=make_token_dataset, supported_controls=TOKEN_CONTROLS)


@pytest.fixture
def bigram():
    """The bigram family, registered for the test and taken out after it."""
    register_family("bigram", BIGRAM)
    try:
        yield BIGRAM
    finally:
        unregister_family("bigram")


def test_a_family_registered_at_run_time_trains_saves_loads_and_generates(bigram, tiny_corpus, tmp_path, metrics_of):
    out = tmp_path / "bigram-run"
    result = train("bigram", str(tiny_corpus), out, progress=False,
                   training_overrides={"max_steps": 40, "batch_size": 4, "lr": 0.2, "warmup_steps": 2})
    assert result.steps == 40 and result.best_valid is not None
    losses = [r["loss"] for r in metrics_of(out) if "loss" in r]
    assert losses[-1] < 0.6 * losses[0]
    assert all(r["tokens"] > 0 for r in metrics_of(out) if "loss" in r)  # the loss's `tokens`, logged
    run = load_run(out)
    assert run.family is bigram and isinstance(run.model, Bigram)
    assert run.config["family"] == "bigram" and run.config["model"]["vocab_size"] == run.representation.vocab_size
    pieces = run.generate(Controls(num=2, bars=2, seed=3))  # through the shared token sampler
    assert len(pieces) == 2 and all(p.note_count > 0 for p in pieces)
    assert [p.note_count for p in run.generate(Controls(num=2, bars=2, seed=3))] == [p.note_count for p in pieces]


def test_an_unregistered_family_is_gone(bigram, tmp_path):
    unregister_family("bigram")
    try:
        assert "bigram" not in MODELS
        with pytest.raises(TunesmithError, match="unknown model 'bigram'"):
            get_family("bigram")
    finally:
        register_family("bigram", BIGRAM)  # for the fixture to take out


def test_registering_checks_names(bigram):
    assert get_family("bigram") is bigram
    with pytest.raises(TunesmithError, match="registered already"):
        register_family("bigram", BIGRAM)
    with pytest.raises(TunesmithError, match="cannot be registered as 'other'"):
        register_family("other", BIGRAM)
    with pytest.raises(TunesmithError, match="no model family named 'other'"):
        unregister_family("other")
    register_family("other", "tunesmith.models.rnn")  # a module whose FAMILY is named otherwise
    try:
        with pytest.raises(TunesmithError, match="registered as 'other' calls itself 'rnn'"):
            get_family("other")
    finally:
        unregister_family("other")


def test_a_family_config_must_be_a_dataclass():
    with pytest.raises(TunesmithError, match="config_class must be a @dataclass"):
        Family(name="x", config_class=dict, representation={}, build_model=build_bigram,
               make_dataset=make_token_dataset)


def test_a_family_holds_only_what_is_read():
    assert [f.name for f in dataclasses.fields(Family)] == [
        "name", "config_class", "representation", "build_model", "make_dataset", "generate", "supported_controls",
        "afterwards", "refused", "limits", "collate", "train_step", "fit_pieces"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_family_keeps_the_contract(name):
    family = get_family(name)
    assert family.name == name and dataclasses.is_dataclass(family.config_class)
    parameters = inspect.signature(family.make_dataset).parameters
    for keyword in ("train", "augment"):  # two separate arguments, always passed by name
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, keyword
    assert (family.generate is None) == (name in {"rnn", "transformer"})  # the token sampler's families


@pytest.mark.parametrize(("name", "guessing"), [("rnn", False), ("transformer", True)])
def test_token_models_give_the_sampler_what_it_needs(name, guessing):
    family = get_family(name)
    model = family.build_model(family.config_class(), TokenRepresentation())
    assert isinstance(model, FamilyModel) and isinstance(model, TokenModel)
    assert isinstance(model, GuessingDecoder) == guessing
    assert not isinstance(model, TrainingSnapshot)
    assert isinstance(Bigram(BigramConfig(vocab_size=8)), TokenModel)


def test_the_gans_training_phrases_are_the_same_without_augmentation(tiny_corpus):
    family = get_family("gan")
    pieces = load_corpus(str(tiny_corpus), progress=False).pieces
    config = family.config_class()
    representation = representation_from_dict(family.representation).fit(family.fit_pieces(pieces, config))
    augmented = family.make_dataset(pieces, representation, config, 0, train=True, augment=True)
    plain = family.make_dataset(pieces, representation, config, 0, train=True, augment=False)
    valid = family.make_dataset(pieces, representation, config, 0, train=False, augment=False)
    # --no-augment used to give the training split the validation cut: side-by-side phrases only
    assert len(plain) == len(augmented) > len(valid) > 0
    for i in (0, len(plain) // 2, len(plain) - 1):  # key-normalised: nothing to transpose, the same phrases
        assert torch.equal(plain[i], augmented[i])


def test_polyphonic_training_windows_score_every_frame_with_or_without_augmentation():
    family = get_family("polyphonic")
    rolls = [(np.random.default_rng(i).random((12, 88)) < 0.05).astype(np.uint8) for i in range(3)]
    config = family.config_class()
    for augment in (False, True):
        data = family.make_dataset(rolls, FrameRepresentation(), config, 0, train=True, augment=augment)
        assert float(data[0]["weights"][0]) == 1.0
    valid = family.make_dataset(rolls, FrameRepresentation(), config, 0, train=False, augment=False)
    assert float(valid[0]["weights"][0]) == 0.0  # the benchmark does not score a piece's first frame
    first = valid[0]["roll"]
    assert torch.equal(first, torch.from_numpy(rolls[0][:len(first)]))  # not transposed
