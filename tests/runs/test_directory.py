"""The run directory's files: config.json, weights and the resume checkpoint give back every piece of state."""

from __future__ import annotations

import errno
import json
import platform
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError, safe_open

from tunesmith.errors import TunesmithError
from tunesmith.fileio import WriteError
from tunesmith.runs import directory as checkpoint
from tunesmith.runs import files as run_files
from tunesmith.runs.directory import load_checkpoint, load_weights, save_checkpoint, save_weights
from tunesmith.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    library_versions,
    read_config,
    write_config,
)


class TiedNet(torch.nn.Module):
    """An embedding whose matrix is also the output layer's (tied weights are stored once); the output's bias
    comes after the tied name."""

    def __init__(self, vocab: int = 5, width: int = 3):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.out = torch.nn.Linear(width, vocab)
        self.out.weight = self.embed.weight


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))


def _train(net: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer], steps: int) -> None:
    """A few steps on inputs drawn from torch's global RNG (so a resumed run must restore it)."""
    for _ in range(steps):
        loss = net(torch.randn(8, 3)).pow(2).mean()
        for opt in optimizers.values():
            opt.zero_grad()
        loss.backward()
        for opt in optimizers.values():
            opt.step()


def _optimizers(net: torch.nn.Module) -> dict[str, torch.optim.Optimizer]:
    # two optimizers, one name a prefix of the other, as a GAN's "gen" and "gen_ema" might be
    first, second = net[0], net[2]
    return {"gen": torch.optim.AdamW(first.parameters(), lr=1e-2, betas=(0.8, 0.95)),
            "gen_ema": torch.optim.SGD(second.parameters(), lr=5e-2, momentum=0.9)}


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _assert_same_optimizer(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert json.loads(json.dumps(sa["param_groups"])) == json.loads(json.dumps(sb["param_groups"]))
    assert sa["state"].keys() == sb["state"].keys()
    for idx in sa["state"]:
        assert sa["state"][idx].keys() == sb["state"][idx].keys()
        for field, value in sa["state"][idx].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(sb["state"][idx][field])), (idx, field)


@pytest.mark.filterwarnings("error")  # tensors in optimizer state are stored as they are, not copy-constructed
def test_resuming_restores_weights_moments_groups_rng_and_counters(tmp_path):
    net = _net(0)
    optimizers = _optimizers(net)
    _train(net, optimizers, 3)
    optimizers["gen"].param_groups[0]["lr"] = 3e-3  # as a schedule would have left it
    torch.manual_seed(123)
    counters = {"step": 3, "epoch": 1, "best_valid": 0.25, "history": [1.0, 0.5]}
    save_checkpoint(tmp_path, net, optimizers, counters)
    saved_weights = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    _train(net, optimizers, 2)
    uninterrupted = {k: v.clone() for k, v in net.state_dict().items()}

    again = _net(1)
    resumed = _optimizers(again)
    torch.manual_seed(7)
    assert load_checkpoint(tmp_path, again, resumed) == counters
    _assert_same_state(again.state_dict(), saved_weights)
    assert torch.equal(torch.get_rng_state(), rng)
    assert resumed["gen"].param_groups[0]["lr"] == 3e-3
    assert resumed["gen"].param_groups[0]["betas"] == [0.8, 0.95]
    assert resumed["gen_ema"].param_groups[0]["momentum"] == 0.9
    _train(again, resumed, 2)
    _assert_same_state(again.state_dict(), uninterrupted)
    for name in optimizers:
        _assert_same_optimizer(resumed[name], optimizers[name])


def test_the_checkpoint_holds_each_tensor_under_its_name(tmp_path):
    net = _net(0)
    optimizers = _optimizers(net)
    _train(net, optimizers, 1)
    save_checkpoint(tmp_path, net, optimizers, {"step": 1})
    with safe_open(str(tmp_path / CHECKPOINT_FILE), "pt") as f:
        names = sorted(f.keys())
        meta = f.metadata()
        rng = f.get_tensor("rng.torch")
    assert names == sorted(["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias", "rng.torch",
                            "opt.gen.0.step", "opt.gen.0.exp_avg", "opt.gen.0.exp_avg_sq",
                            "opt.gen.1.step", "opt.gen.1.exp_avg", "opt.gen.1.exp_avg_sq",
                            "opt.gen_ema.0.momentum_buffer", "opt.gen_ema.1.momentum_buffer"])
    assert json.loads(meta["state"]) == {"step": 1}
    assert sorted(json.loads(meta["param_groups"])) == ["gen", "gen_ema"]
    assert json.loads(meta["param_groups"])["gen"][0]["params"] == [0, 1]
    assert torch.equal(rng, torch.get_rng_state())


def test_a_number_in_optimizer_state_is_stored_as_a_tensor(tmp_path):
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    opt.state[net.weight]["count"] = 4  # optimizers may keep plain numbers
    opt.state[net.weight]["slow.weights"] = torch.ones(1, 2)  # and names with a dot (lookahead's)
    save_checkpoint(tmp_path, net, {"sgd": opt}, {})
    with safe_open(str(tmp_path / CHECKPOINT_FILE), "pt") as f:
        assert f.get_tensor("opt.sgd.0.count").item() == 4
    again = torch.optim.SGD(net.parameters(), lr=0.1)
    load_checkpoint(tmp_path, net, {"sgd": again})
    state = again.state_dict()["state"][0]
    assert int(state["count"]) == 4 and torch.equal(state["slow.weights"], torch.ones(1, 2))


def test_the_trainings_own_tensors_come_back_under_their_names(tmp_path):
    net = _net(0)
    average = {"avg.0.weight": torch.full((4, 3), 0.5), "best": torch.tensor([2.0])}
    save_checkpoint(tmp_path, net, {}, {"step": 5}, tensors=average)
    average["best"] += 1  # the checkpoint keeps its own copy
    found: dict[str, torch.Tensor] = {"stale": torch.zeros(1)}
    assert load_checkpoint(tmp_path, _net(1), {}, tensors=found) == {"step": 5}
    assert sorted(found) == ["avg.0.weight", "best", "stale"]
    assert torch.equal(found["avg.0.weight"], torch.full((4, 3), 0.5)) and found["best"].item() == 2.0
    assert load_checkpoint(tmp_path, _net(1), {}) == {"step": 5}


def test_nothing_to_resume_says_so(tmp_path):
    with pytest.raises(TunesmithError) as raised:
        load_checkpoint(tmp_path, _net(0), {})
    assert str(raised.value) == f"nothing to resume in {tmp_path} (no checkpoint.safetensors)"


@pytest.mark.parametrize("cut", [0, 10, 200])
def test_a_damaged_checkpoint_is_a_one_line_error(tmp_path, cut):
    net = _net(0)
    save_checkpoint(tmp_path, net, {}, {"step": 0})
    path = tmp_path / CHECKPOINT_FILE
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(TunesmithError, match=r"checkpoint\.safetensors is damaged \(Error while deserializing"):
        load_checkpoint(tmp_path, net, {})


def test_weights_round_trip_with_their_extras_and_metadata(tmp_path):
    net = _net(0)
    path = tmp_path / MODEL_FILE
    extra = {"stats.mean": torch.tensor([1.5, -2.0])}
    save_weights(path, net, {"family": "rnn"}, extra)
    with safe_open(str(path), "pt") as f:
        assert f.metadata() == {"family": "rnn"}
    again = _net(1)
    returned = load_weights(path, again)
    assert returned.keys() == {"stats.mean"} and torch.equal(returned["stats.mean"], extra["stats.mean"])
    _assert_same_state(again.state_dict(), net.state_dict())
    assert load_weights(path, _net(2)).keys() == {"stats.mean"}
    save_weights(path, net)
    assert load_weights(path, _net(1)) == {}


def test_tied_weights_are_stored_once_and_tied_again_on_load(tmp_path):
    torch.manual_seed(0)
    net = TiedNet()
    path = tmp_path / MODEL_FILE
    save_weights(path, net)
    with safe_open(str(path), "pt") as f:
        assert sorted(f.keys()) == ["model.embed.weight", "model.out.bias"]
    torch.manual_seed(1)
    again = TiedNet()
    load_weights(path, again)
    assert torch.equal(again.out.weight, net.embed.weight) and torch.equal(again.out.bias, net.out.bias)
    assert again.out.weight.data_ptr() == again.embed.weight.data_ptr()


def test_a_view_of_the_same_storage_with_another_shape_is_stored_too(tmp_path):
    class Views(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("grid", torch.arange(6.0).reshape(2, 3))
            self.register_buffer("flat", self.grid.view(6))

    path = tmp_path / MODEL_FILE
    with pytest.raises(RuntimeError, match="share memory"):  # safetensors refuses shared storage
        save_weights(path, Views())
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_weights_that_do_not_fit_name_what_is_missing_and_unexpected(tmp_path):
    def named(*names):
        return torch.nn.ModuleDict({n: torch.nn.Linear(2, 2) for n in names})

    path = tmp_path / MODEL_FILE
    save_weights(path, named("a", "b"))
    with pytest.raises(TunesmithError) as raised:
        load_weights(path, named("c", "d"))
    assert str(raised.value) == (f"{path} does not fit this model (missing ['c.weight', 'c.bias', 'd.weight'], "
                                 "unexpected ['a.bias', 'a.weight', 'b.bias'])")
    with pytest.raises(TunesmithError, match=r"missing \['b.weight', 'b.bias'\], unexpected \[\]\)$"):
        load_weights(_saved(tmp_path / "a.safetensors", named("a")), named("a", "b"))


def _saved(path, module):
    save_weights(path, module)
    return path


def test_an_untied_missing_weight_is_still_missing(tmp_path):
    torch.manual_seed(0)
    path = _saved(tmp_path / MODEL_FILE, torch.nn.ModuleDict({"embed": torch.nn.Embedding(5, 3)}))
    untied = torch.nn.ModuleDict({"embed": torch.nn.Embedding(5, 3), "out": torch.nn.Linear(3, 5, bias=False)})
    with pytest.raises(TunesmithError, match=r"missing \['out.weight'\]"):
        load_weights(path, untied)


def test_no_weights_says_train_first(tmp_path):
    with pytest.raises(TunesmithError) as raised:
        load_weights(tmp_path / MODEL_FILE, _net(0))
    assert str(raised.value) == f"{tmp_path} has no trained weights (model.safetensors); train it first"


def test_a_failed_save_keeps_the_old_weights(tmp_path, monkeypatch):
    path = tmp_path / MODEL_FILE
    save_weights(path, _net(0))
    old = path.read_bytes()

    def half(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x08\x00\x00")
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(checkpoint, "save_file", half)
    with pytest.raises(WriteError) as raised:
        save_weights(path, _net(1))
    assert str(raised.value) == f"could not write {path}: No space left on device"
    assert path.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == [MODEL_FILE]


@pytest.mark.parametrize("message, reason", [
    ("Error while serializing: I/O error: File too large (os error 27)", "File too large"),
    ("Error while serializing: I/O error: No space left on device (os error 28)", "No space left on device"),
    ("Error while serializing: something else\nand more", "Error while serializing: something else"),
])
def test_a_safetensors_write_error_names_the_file_and_the_system_s_reason(tmp_path, monkeypatch, message, reason):
    """safetensors reports the system's error inside its own (a SafetensorError): it is read back out."""
    path = tmp_path / CHECKPOINT_FILE
    save_checkpoint(tmp_path, _net(0), {}, {"step": 2})
    old = path.read_bytes()

    def fails(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x08\x00")
        raise SafetensorError(message)

    monkeypatch.setattr(checkpoint, "save_file", fails)
    with pytest.raises(WriteError) as raised:
        save_checkpoint(tmp_path, _net(1), {}, {"step": 4})
    assert str(raised.value) == f"could not write {path}: {reason}"
    assert path.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_FILE]


def test_a_checkpoint_past_a_file_size_limit_keeps_the_previous_one_byte_for_byte(tmp_path):
    """The real writer against a real limit (EFBIG, as a full disk gives ENOSPC), not a stand-in."""
    from faults import file_size_limit

    net = _net(0)
    optimizers = _optimizers(net)
    _train(net, optimizers, 2)
    save_checkpoint(tmp_path, net, optimizers, {"step": 2})
    path = tmp_path / CHECKPOINT_FILE
    old = path.read_bytes()
    _train(net, optimizers, 2)
    with file_size_limit(len(old) // 2), pytest.raises(WriteError) as raised:
        save_checkpoint(tmp_path, net, optimizers, {"step": 4})
    assert str(raised.value) == f"could not write {path}: File too large"
    assert path.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_FILE]
    assert load_checkpoint(tmp_path, _net(1), _optimizers(_net(1))) == {"step": 2}


def test_config_round_trip_adds_the_format_and_the_library_versions(tmp_path):
    write_config(tmp_path, {"family": "rnn", "model": {"width": 48}})
    back = read_config(tmp_path)
    assert back == {"format": 3, "family": "rnn", "model": {"width": 48}, "versions": library_versions()}
    assert (tmp_path / CONFIG_FILE).read_text().startswith('{\n  "family": "rnn",\n  "format": 3,')


def test_library_versions_name_each_library():
    versions = library_versions()
    assert list(versions) == ["python", "tunesmith", "torch", "symusic", "miditok", "music21", "numpy",
                              "safetensors"]
    assert versions["python"] == platform.python_version()
    assert versions["torch"] == metadata.version("torch") and versions["tunesmith"] == metadata.version("tunesmith")


def test_a_missing_library_is_recorded_as_not_installed(monkeypatch):
    real = metadata.version

    def version(name):
        if name == "music21":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(run_files.metadata, "version", version)
    versions = library_versions()
    assert versions["music21"] == "not installed" and versions["numpy"] == real("numpy")


def test_read_config_says_what_is_wrong(tmp_path):
    with pytest.raises(TunesmithError) as raised:
        read_config(tmp_path / "nowhere")
    assert str(raised.value) == f"run directory not found: {tmp_path / 'nowhere'}"
    with pytest.raises(TunesmithError) as raised:
        read_config(tmp_path)
    assert str(raised.value) == f"{tmp_path} is not a tunesmith run (no config.json)"
    (tmp_path / CONFIG_FILE).write_text('{"family": "rnn",')
    with pytest.raises(TunesmithError) as raised:
        read_config(tmp_path)
    assert str(raised.value) == f"{tmp_path / CONFIG_FILE} is damaged (Expecting property name enclosed in double quotes)"


@pytest.mark.parametrize("content, reason", [
    (b"", "Expecting value"),
    (b"\xff\xfe\x00garbage", "not text: byte 0 is not UTF-8"),
    (b'{"family": "rnn", "model": {"wi\xe9dth": 3}}', "not text: byte 31 is not UTF-8"),
    (b"[1, 2]", "a JSON list, not an object of settings"),
    (b'"rnn"', "a JSON string, not an object of settings"),
    (b"null", "a JSON null, not an object of settings"),
])
def test_a_config_that_is_not_a_json_object_is_a_one_line_error_naming_it(tmp_path, content, reason):
    (tmp_path / CONFIG_FILE).write_bytes(content)
    with pytest.raises(TunesmithError) as raised:
        read_config(tmp_path)
    assert str(raised.value) == f"{tmp_path / CONFIG_FILE} is damaged ({reason})"
