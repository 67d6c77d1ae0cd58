"""The loop's callbacks (tunesmith.training.callbacks): a callback can stop training and say why, one with state
of its own gets it back on resume, and a plain function is still a callback of every step."""

from __future__ import annotations

import pytest
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models import config_from_dict, get_family
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.training.callbacks import Callback, Stateful, as_callback
from tunesmith.training.loop import TrainConfig, fit

TINY = {"layers": 1, "width": 16, "embedding": 8, "dropout": 0.0, "window": 32}


def tiny(pieces):
    torch.manual_seed(0)
    family = get_family("rnn")
    rep = TokenRepresentation()
    config = config_from_dict(family.config_class, TINY)
    return family.build_model(config, rep), family.make_dataset(pieces, rep, config, 0, train=True, augment=False)


class Counting(Callback):
    """Counts steps and epochs, sums the losses (state a checkpoint keeps), and stops at `stop_at` steps."""

    def __init__(self, stop_at: int | None = None):
        self.stop_at, self.steps, self.epochs, self.ended = stop_at, [], 0, None
        self.loss_sum = torch.zeros((), dtype=torch.float64)

    def on_step(self, step, record):
        self.steps.append(step)
        self.loss_sum += record["loss"]

    def on_epoch_end(self, epoch, step):
        self.epochs = epoch

    def on_train_end(self, step):
        self.ended = step

    def should_stop(self):
        return f"counted {self.stop_at}" if self.stop_at and self.steps[-1] >= self.stop_at else None

    def state_tensors(self):
        return {"loss_sum": self.loss_sum}

    def load_state_tensors(self, tensors):
        self.loss_sum = tensors["loss_sum"].clone()


def test_a_callback_stops_training_and_says_why(chorales, tmp_path):
    model, data = tiny(chorales[:2])
    counting = Counting(stop_at=3)
    config = TrainConfig(batch_size=4, max_steps=20, warmup_steps=1, log_every=1, checkpoint_every=100)
    result = fit(model, data, data, config, tmp_path, progress=False, callbacks=[counting])
    assert (result.steps, result.stopped_because) == (3, "counted 3")
    assert counting.steps == [1, 2, 3] and counting.ended == 3 and counting.epochs == 0


def test_a_stateful_callback_gets_its_state_back_on_resume(chorales, tmp_path):
    model, data = tiny(chorales[:2])
    assert isinstance(Counting(), Stateful)
    config = TrainConfig(batch_size=4, max_steps=4, warmup_steps=1, checkpoint_every=2)
    first = Counting()
    fit(model, data, None, config, tmp_path, progress=False, callbacks=[first])
    again = Counting()
    longer = TrainConfig(batch_size=4, max_steps=6, warmup_steps=1, checkpoint_every=2)
    fit(tiny(chorales[:2])[0], data, None, longer, tmp_path, progress=False, resume=True, callbacks=[again])
    assert again.steps == [5, 6]
    assert float(again.loss_sum) > float(first.loss_sum) > 0  # went on from the four steps' sum


def test_a_plain_function_is_a_callback_of_every_step_and_anything_else_is_an_error():
    seen = []
    callback = as_callback(lambda step, record: seen.append(step))
    callback.on_step(7, {})
    assert seen == [7] and callback.should_stop() is None
    with pytest.raises(TunesmithError, match="a training callback is a Callback or a function"):
        as_callback(42)
