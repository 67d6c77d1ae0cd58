"""Validation NLL of token runs, split by the kind of the predicted token (Pitch, Duration, Position...).

Each run is scored on the validation split of the corpus it was trained on, in the windows it was trained
with (no transposition), exactly as training's validation loss; the mean over all tokens is that loss.
The split shows where one model beats another: which kinds of event it predicts better.

    python bench/token_nll.py --runs runs/tf-bach runs/rnn-bach

Prints one JSON line: per run, the mean NLL (nats per token) and per kind: tokens, mean NLL, and its share
of the mean (its NLL times its share of the tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict

import torch
import torch.nn.functional as F
from torch.utils.data import default_collate


def score(path: str, batch_size: int) -> dict:
    """Per-kind validation NLL of one token run."""
    from tunesmith.data import load_corpus, split_pieces
    from tunesmith.generation.masks import TokenVocab
    from tunesmith.generation.run import load_run
    from tunesmith.representations.tokens import TokenRepresentation

    run = load_run(path)
    rep, model = run.representation, run.model.eval()
    if not isinstance(rep, TokenRepresentation):
        sys.exit(f"error: {path} is a {run.family.name} run; this measures token runs (rnn, transformer)")
    corpus = run.config["corpus"]
    valid = split_pieces(load_corpus(corpus["source"], limit=corpus.get("limit"), progress=False).pieces)["valid"]
    data = run.family.make_dataset(valid, rep, model.config, 0)
    kinds = TokenVocab(rep).kind
    total: dict[str, float] = defaultdict(float)
    count: Counter = Counter()
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            tokens = default_collate([data[i] for i in range(start, min(len(data), start + batch_size))])["tokens"]
            logits, _ = model(tokens[:, :-1])
            targets = tokens[:, 1:].reshape(-1)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="none")
            keep = targets != model.pad_id
            for token, value in zip(targets[keep].tolist(), nll[keep].tolist(), strict=True):
                total[kinds[token]] += value
                count[kinds[token]] += 1
    n = sum(count.values())
    return {"run": path, "family": run.family.name, "tokens": n, "nll": round(sum(total.values()) / n, 4),
            "kinds": {k: {"tokens": count[k], "nll": round(total[k] / count[k], 4), "share": round(total[k] / n, 4)}
                      for k in sorted(count)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="token run directories (rnn, transformer)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from tunesmith.errors import TunesmithError

    try:
        runs = [score(path, args.batch_size) for path in args.runs]
    except TunesmithError as exc:
        sys.exit(f"error: {exc}")
    print(json.dumps({"benchmark": "token_nll", "runs": runs}))


if __name__ == "__main__":
    main()
