"""The pitch-tied polyphonic network: autoregressive over keys, the same at every key (training and sampling are
tested for both networks in test_polyphonic.py)."""

import pytest
import torch

from tunesmith.config import config_from_dict
from tunesmith.data.frames_json import KEYS
from tunesmith.errors import TunesmithError
from tunesmith.models.polyphonic import PolyphonicConfig, build_model
from tunesmith.models.polyphonic_tied import TiedPolyphonicModel, around, below, relative_classes


def tied(**tied_settings) -> TiedPolyphonicModel:
    torch.manual_seed(0)
    values = {"architecture": "tied", "hidden": 16, "made_hidden": 16, "dropout": 0.0,
              "tied": {"window_keys": 4, **tied_settings}}
    return build_model(config_from_dict(PolyphonicConfig, values))


def test_neighbourhoods_and_relative_classes_on_a_hand_made_frame():
    x = torch.zeros(KEYS)
    x[[3, 5]] = 1.0
    assert around(x, 2)[4].tolist() == [0, 1, 0, 1, 0]  # keys 2..6
    assert below(x, 3)[6].tolist() == [1, 0, 1]  # keys 3..5
    assert below(x, 3)[4].tolist() == [0, 0, 1]  # keys 1..3: key 4 itself is not below it
    assert below(x, 3)[0].tolist() == [0, 0, 0]
    counts = torch.zeros(KEYS, 12)
    counts[:, 5] = 2.0  # two notes of pitch class 5 (counting classes from key 0)
    rel = relative_classes(counts)
    assert rel[0, 5] == 2 and rel[3, 2] == 2 and rel[7, 10] == 2  # 5 is 5, 2 and 10 semitones above keys 0, 3, 7
    assert rel.sum() == 2 * KEYS


def test_each_key_depends_only_on_the_keys_below_it():
    model = tied().eval()
    rolls = (torch.rand(1, 4, KEYS) < 0.3).float().requires_grad_(True)
    logits = model.key_logits(model.context(rolls.detach()), rolls)
    jacobian = torch.stack([torch.autograd.grad(logits[0, 2, i], rolls, retain_graph=True)[0][0, 2]
                            for i in range(KEYS)])
    assert jacobian.triu().abs().sum() == 0
    assert jacobian.tril(-1).abs().sum() > 0


def test_the_same_music_a_fifth_higher_gets_the_same_logits_a_fifth_higher():
    # without the register embedding every key runs the same network on the music relative to it
    model = tied(key_embed=0).eval()
    rolls = torch.zeros(1, 6, KEYS)
    for t, keys in enumerate([[30, 34, 37], [32, 35], [30, 37, 42], [29], [31, 35, 38], [30, 34]]):
        rolls[0, t, keys] = 1.0
    shifted = torch.roll(rolls, 7, dims=-1)
    with torch.no_grad():
        logits = model.key_logits(model.context(rolls), rolls)
        moved = model.key_logits(model.context(shifted), shifted)
    inside = slice(12, 60)  # keys whose neighbourhoods stay on the keyboard in both
    assert torch.allclose(moved[..., 19:67], logits[..., inside], atol=1e-5)
    assert not torch.allclose(moved[..., inside], logits[..., inside], atol=1e-3)


def test_architecture_is_chosen_by_the_config():
    assert isinstance(tied(), TiedPolyphonicModel)
    with pytest.raises(TunesmithError, match=r"^model setting architecture must be one of lstm-nade, tied "
                                             r"\(got 'cnn'\)$"):
        config_from_dict(PolyphonicConfig, {"architecture": "cnn"})
    with pytest.raises(TunesmithError, match=r"^model setting window_keys is now tied.window_keys \(in a TOML file: "
                                             r"\[model.tied\] window_keys = ...\)$"):
        config_from_dict(PolyphonicConfig, {"architecture": "tied", "window_keys": 4})
