"""Training tokens/s of the RNN through tunesmith's loop, and of a bare PyTorch loop over the same model
and batches in the same process (the loop's overhead is the ratio).

    python bench/train_speed.py [--steps 60] [--batch-size 32] [--window 256]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch
from torch.utils.data import default_collate

from tunesmith.data import load_corpus
from tunesmith.models import config_from_dict, get_family
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.training.loop import TrainConfig, _batches, default_optimizers, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--corpus", default="bach")
    args = parser.parse_args()
    family = get_family("rnn")
    rep = TokenRepresentation()
    config = config_from_dict(family.config_class, {"window": args.window})
    data = family.make_dataset(load_corpus(args.corpus, progress=False).pieces, rep, config, 0, augment=False)
    train_config = TrainConfig(batch_size=args.batch_size, max_steps=args.steps, warmup_steps=10,
                               checkpoint_every=10**9, augment=False)

    def bare_loop() -> tuple[int, float]:
        torch.manual_seed(0)
        model = family.build_model(config_from_dict(family.config_class, {"window": args.window}), rep)
        optimizer = default_optimizers(model, train_config)["main"]
        tokens, start = 0, time.perf_counter()
        for step, (_, batch) in enumerate(_batches(data, train_config, 0, default_collate, 0)):
            if step == args.steps:
                break
            loss, stats = model.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            tokens += stats["tokens"]
        return tokens, time.perf_counter() - start

    def tunesmith_loop() -> tuple[int, float]:
        torch.manual_seed(0)
        model = family.build_model(config_from_dict(family.config_class, {"window": args.window}), rep)
        counted = []
        with tempfile.TemporaryDirectory() as run_dir:
            start = time.perf_counter()
            fit(model, data, None, train_config, run_dir, progress=False,
                callbacks=[lambda step, record: counted.append(record["tokens"])])
            seconds = time.perf_counter() - start
        return sum(counted), seconds

    bare_loop()  # warm-up (allocator, thread pool)
    bare_tokens, bare_s = bare_loop()
    loop_tokens, loop_s = tunesmith_loop()
    bare_rate, loop_rate = bare_tokens / bare_s, loop_tokens / loop_s
    print(json.dumps({"bench": "train_speed", "model": "rnn", "steps": args.steps, "batch_size": args.batch_size,
                      "window": args.window, "threads": torch.get_num_threads(),
                      "bare_tokens_per_s": round(bare_rate), "tunesmith_tokens_per_s": round(loop_rate),
                      "ratio": round(loop_rate / bare_rate, 3)}))


if __name__ == "__main__":
    main()
