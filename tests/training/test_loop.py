import json

import pytest
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models import config_from_dict, get_family
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.runs.directory import load_weights
from tunesmith.training.loop import TrainConfig, default_optimizers, fit, learning_rate

TINY = {"layers": 1, "width": 48, "embedding": 32, "dropout": 0.0, "window": 64}


def tiny_setup(pieces, dropout=0.0):
    family = get_family("rnn")
    rep = TokenRepresentation()
    config = config_from_dict(family.config_class, {**TINY, "dropout": dropout})
    data = family.make_dataset(pieces, rep, config, 0, train=True, augment=False)
    return family.build_model(config, rep), data


def test_tiny_model_overfits_two_pieces(chorales, tmp_path):
    torch.manual_seed(0)
    model, data = tiny_setup(chorales[:2])
    config = TrainConfig(batch_size=8, lr=1e-2, warmup_steps=5, max_steps=150, epochs=1000, log_every=1,
                         augment=False, patience=1000)
    result = fit(model, data, None, config, tmp_path, progress=False)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert result.steps == 150
    assert losses[-1] < 0.5 * losses[0]
    assert (tmp_path / "model.safetensors").exists()


class Kill(Exception):
    pass


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_resume_after_a_kill_matches_an_uninterrupted_run(chorales, tmp_path, optimizer):
    config = TrainConfig(batch_size=4, lr=5e-3, warmup_steps=3, max_steps=14, checkpoint_every=4, log_every=1,
                         augment=True, seed=3, optimizer=optimizer)

    def run(out, kill_at=None, resume=False):
        torch.manual_seed(123)  # different from the run's seed: the loop must seed itself
        model, data = tiny_setup(chorales[:3], dropout=0.2)
        data.transpose = True

        def killer(step, record):
            if kill_at is not None and step == kill_at:
                raise Kill

        try:
            fit(model, data, data, config, out, progress=False, resume=resume, callbacks=[killer])
        except Kill:
            return None
        return model

    whole = run(tmp_path / "a")
    assert run(tmp_path / "b", kill_at=10) is None  # killed after the step-8 checkpoint
    half_written = tmp_path / "b" / ".checkpoint.safetensors.x1y2z3.tmp"  # as a kill inside a write leaves it
    half_written.write_bytes(b"half a checkpoint")
    resumed = run(tmp_path / "b", resume=True)
    assert not half_written.exists()
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [json.loads(line)["step"] for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    # the best weights on valid, kept by the resumed session, are those the uninterrupted run kept
    best_a, best_b = tiny_setup(chorales[:1])[0], tiny_setup(chorales[:1])[0]
    load_weights(tmp_path / "a" / "model.safetensors", best_a)
    load_weights(tmp_path / "b" / "model.safetensors", best_b)
    for (name, a), (_, b) in zip(best_a.state_dict().items(), best_b.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_resuming_a_finished_run_changes_nothing(chorales, tmp_path, metrics_of, same_tensors):
    config = TrainConfig(batch_size=4, lr=5e-3, warmup_steps=2, max_steps=6, checkpoint_every=4, log_every=1,
                         augment=False, seed=1)
    model, data = tiny_setup(chorales[:2])
    fit(model, data, data, config, tmp_path / "run", progress=False)
    (tmp_path / "first").mkdir()
    for name in ("model.safetensors", "checkpoint.safetensors", "metrics.jsonl"):
        (tmp_path / "first" / name).write_bytes((tmp_path / "run" / name).read_bytes())
    result = fit(tiny_setup(chorales[:2])[0], data, data, config, tmp_path / "run", progress=False, resume=True)
    assert result.steps == 6 and result.history == []  # nothing trained, nothing validated again
    assert metrics_of(tmp_path / "run") == metrics_of(tmp_path / "first")
    same_tensors(tmp_path / "first" / "model.safetensors", tmp_path / "run" / "model.safetensors")
    same_tensors(tmp_path / "first" / "checkpoint.safetensors", tmp_path / "run" / "checkpoint.safetensors")


def test_a_kill_between_a_validation_and_its_checkpoint_logs_that_validation_once(chorales, tmp_path, monkeypatch,
                                                                                  metrics_of):
    import tunesmith.training.loop as loop

    def fresh():  # the same initial weights every time
        torch.manual_seed(0)
        return tiny_setup(chorales[:2])

    model, data = fresh()
    epoch_steps = -(-len(data) // 4)
    # a step checkpoint at the epoch's last batch, then the epoch's validation, then its own checkpoint
    config = TrainConfig(batch_size=4, lr=5e-3, warmup_steps=2, max_steps=epoch_steps + 2,
                         checkpoint_every=epoch_steps, log_every=1, augment=False, seed=2)
    fit(model, data, data, config, tmp_path / "whole", progress=False)
    real_save = loop.save_checkpoint

    def dies_after_the_validation(run_dir, module, optimizers, state, *kept):
        if state["step"] == epoch_steps and state["epoch"] == 1:  # the epoch-end checkpoint, after validating
            raise Kill
        real_save(run_dir, module, optimizers, state, *kept)

    monkeypatch.setattr(loop, "save_checkpoint", dies_after_the_validation)
    with pytest.raises(Kill):
        fit(fresh()[0], data, data, config, tmp_path / "killed", progress=False)
    assert [r["step"] for r in metrics_of(tmp_path / "killed") if "valid_loss" in r] == [epoch_steps]
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    fit(fresh()[0], data, data, config, tmp_path / "killed", progress=False, resume=True)
    assert metrics_of(tmp_path / "killed") == metrics_of(tmp_path / "whole")
    assert [r["step"] for r in metrics_of(tmp_path / "whole") if "valid_loss" in r] == [epoch_steps, epoch_steps + 2]


def test_learning_rate_warms_up_then_anneals():
    config = TrainConfig(lr=1.0, warmup_steps=10)
    assert learning_rate(0, config, 100) == pytest.approx(0.1)
    assert learning_rate(9, config, 100) == pytest.approx(1.0)
    assert learning_rate(100, config, 100) == pytest.approx(0.1)
    assert learning_rate(20, config, 100, time_fraction=1.0) == pytest.approx(0.1)


def test_muon_takes_the_linear_matrices_and_adamw_the_rest():
    family = get_family("transformer")
    config = config_from_dict(family.config_class, {"layers": 2, "width": 32, "heads": 2, "window": 16})
    model = family.build_model(config, TokenRepresentation())
    optimizers = default_optimizers(model, TrainConfig(optimizer="muon"))
    muon = {id(p) for group in optimizers["matrices"].param_groups for p in group["params"]}
    adamw = {id(p) for group in optimizers["main"].param_groups for p in group["params"]}
    names = {id(p): name for name, p in model.named_parameters()}
    blocks = [f"blocks.{b}.{layer}.weight" for b in range(2) for layer in ("attn.qkv", "attn.out", "mlp.0", "mlp.2")]
    assert sorted(names[i] for i in muon) == sorted([*blocks, "pitch_proj.weight"])
    assert "embed.weight" in {names[i] for i in adamw}  # the embedding, tied to the output layer, stays with AdamW
    assert not muon & adamw and muon | adamw == set(names)
    assert list(default_optimizers(model, TrainConfig())) == ["main"]
    with pytest.raises(TunesmithError, match="unknown optimizer 'sgd'"):
        TrainConfig(optimizer="sgd")


def test_a_family_with_its_own_step_refuses_the_loops_optimizer_setting(chorales, tmp_path):
    model, data = tiny_setup(chorales[:1])
    with pytest.raises(TunesmithError, match="chooses its own optimizers"):
        fit(model, data, None, TrainConfig(optimizer="muon"), tmp_path, progress=False,
            train_step=lambda *args: {})
