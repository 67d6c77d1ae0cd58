"""Training in several processes (torch.distributed, gloo on CPU, started by torch's elastic launcher): every
family trains in 2 processes to weights the same in both, along the loss curve of 1 process with the same
global batch; a killed process ends the job with one line and a checkpoint that resumes in 1 process."""

from __future__ import annotations

import pytest
import torch
from tests.training.conftest import checkpoint_state, read_metrics
from tests.training.distributed_worker import job, train_and_fingerprint

from tunesmith.errors import TunesmithError
from tunesmith.training import distributed, loop
from tunesmith.training.distributed import World, step_seed

# The token families and the polyphonic one see the same examples in one process as in two (each process a
# half of every global batch): their curves agree to float rounding. The VAE (posterior samples) and the GAN
# (latents, conditions) draw their noise per process, so theirs agree only as two noisy curves do.
CURVE_TOLERANCE = {"rnn": 1e-5, "transformer": 1e-5, "polyphonic": 0.01, "vae": 0.03, "gan": 0.05}


def losses(run) -> list[float]:
    return [r["loss"] for r in read_metrics(run) if "loss" in r]


@pytest.mark.parametrize("family", ["rnn", "transformer", "vae", "gan", "polyphonic"])
def test_two_processes_train_the_same_weights_in_both_along_one_process_curve(family, tmp_path, chorales):
    two = distributed.launch(2, train_and_fingerprint, (job(family, tmp_path / "two"),))
    assert sorted(two) == [0, 1]
    assert two[0] == two[1], f"tensors differ between the processes: {[k for k in two[0] if two[0][k] != two[1][k]]}"
    train_and_fingerprint(job(family, tmp_path / "one"))
    one_curve, two_curve = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one_curve) == len(two_curve) == 8
    worst = max(abs(a - b) / abs(a) for a, b in zip(one_curve, two_curve, strict=True))
    assert worst <= CURVE_TOLERANCE[family], (one_curve, two_curve)
    assert two_curve[-1] < two_curve[0]  # it learns
    assert checkpoint_state(tmp_path / "two")["step"] == 8


def test_a_killed_process_ends_the_job_in_one_line_and_its_checkpoint_resumes_in_one_process(tmp_path, chorales):
    out = tmp_path / "run"
    with pytest.raises(TunesmithError) as error:
        distributed.launch(2, train_and_fingerprint, (job("rnn", out, steps=12, checkpoint_every=4), 6), out=out)
    assert str(error.value) == (f"training process 1 failed (killed by SIGKILL); the last checkpoint in {out} is "
                                "kept: continue with --resume")
    assert checkpoint_state(out)["step"] == 4
    train_and_fingerprint(job("rnn", out, steps=12, checkpoint_every=4, resume=True))
    assert checkpoint_state(out)["step"] == 12
    assert [r["step"] for r in read_metrics(out) if "loss" in r] == list(range(1, 13))


def test_an_error_in_the_processes_is_the_users_one_line(tmp_path, chorales):
    arguments = job("rnn", tmp_path / "run")
    arguments["model_overrides"] = {"cell": "tape"}
    with pytest.raises(TunesmithError) as error:
        distributed.launch(2, train_and_fingerprint, (arguments,))
    assert "training process" not in str(error.value) and "cell" in str(error.value)
    assert "\n" not in str(error.value)


def test_nproc_trains_from_the_command_line_and_says_so_once(run_cli, tmp_path, chorales):
    code, out, err = run_cli("train", "-m", "rnn", "-c", "bach", "--limit", "6", "--max-steps", "3",
                             "--batch-size", "4", "--nproc", "2", "-q", "-o", str(tmp_path / "run"))
    assert code == 0, err
    assert out.count("trained 3 steps") == 1
    assert checkpoint_state(tmp_path / "run")["step"] == 3


def test_a_global_batch_is_shared_by_rank_and_a_batch_too_small_to_share_is_refused(tmp_path, chorales,
                                                                                     monkeypatch):
    batch = torch.arange(7)
    shares = [World(rank, 3).share(batch).tolist() for rank in range(3)]
    assert shares == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(sum(shares, [])) == batch.tolist()
    monkeypatch.setattr(loop, "current", lambda: World(0, 2))  # as the first of two processes sees it
    with pytest.raises(TunesmithError, match="a batch of 1 examples cannot be shared by 2 processes"):
        train_and_fingerprint(job("rnn", tmp_path / "run", batch=1))


def test_each_process_and_step_draws_its_own_noise():
    seeds = {step_seed(3, step, rank) for step in range(100) for rank in range(8)}
    assert len(seeds) == 800
    assert step_seed(3, 5, 1) == step_seed(3, 5, 1) != step_seed(4, 5, 1)


def test_the_same_seed_and_number_of_processes_give_the_same_run(tmp_path, chorales):
    first = distributed.launch(2, train_and_fingerprint, (job("rnn", tmp_path / "a", steps=3),))
    again = distributed.launch(2, train_and_fingerprint, (job("rnn", tmp_path / "b", steps=3),))
    assert first[0] == again[0]
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
