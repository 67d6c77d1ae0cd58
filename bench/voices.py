"""What voice slots cost: the rnn family trained on a corpus with the token representation before voice slots
("merged": tracks sharing a program become one) and with them ("voices"), same model, seed, steps and batches.

    OMP_NUM_THREADS=1 python bench/voices.py [--steps 600] [--corpus bach]

Per arm: the tracks the first piece decodes to, tokens per piece, the share of the corpus's notes a round trip
keeps (merging drops a unison of two voices), encode and decode milliseconds per piece, training steps/s
(validation included), and the validation NLL in nats per token, in all and on Program tokens alone (which
voice a note belongs to is what voice slots add to predict) and each kind's share of it (its NLL times its
share of the tokens), scored as bench/token_nll.py scores a run.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from token_nll import score  # bench/ is the script's folder, so on sys.path
from tunesmith.data import load_corpus, split_pieces
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.training.trainer import train

MODEL = {"cell": "lstm", "layers": 1, "width": 192, "embedding": 96, "dropout": 0.0, "window": 256}


@contextlib.contextmanager
def merged_voices() -> Iterator[None]:
    """TokenRepresentation.fit as it was before voice slots: no voice table is recorded."""
    fit = TokenRepresentation.fit

    def fit_without_voices(self: TokenRepresentation, pieces: list) -> TokenRepresentation:
        fit(self, pieces)
        self.voice_slots = None
        self.settings.pop("voices", None)
        return self

    TokenRepresentation.fit = fit_without_voices  # type: ignore[method-assign]
    try:
        yield
    finally:
        TokenRepresentation.fit = fit  # type: ignore[method-assign]


def representation_figures(rep: TokenRepresentation, pieces: list) -> dict:
    """Tokens per piece, notes kept by a round trip, encode/decode ms per piece, the first piece's tracks."""
    start = time.perf_counter()
    encoded = [rep.encode(p) for p in pieces]
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = [rep.decode(ids) for ids in encoded]
    decode_s = time.perf_counter() - start
    notes = sum(len(t.notes) for p in pieces for t in p.score.tracks)
    kept = sum(len(t.notes) for p in decoded for t in p.score.tracks)
    return {"tracks": [name for name, _, _ in decoded[0].instruments],
            "tokens_per_piece": round(sum(map(len, encoded)) / len(pieces), 1),
            "notes_kept": round(kept / notes, 5),
            "encode_ms_per_piece": round(1000 * encode_s / len(pieces), 2),
            "decode_ms_per_piece": round(1000 * decode_s / len(pieces), 2)}


def arm(name: str, corpus: str, steps: int, root: Path) -> dict:
    """Train one arm and measure it."""
    out = root / name
    context = merged_voices() if name == "merged" else contextlib.nullcontext()
    with context:
        result = train("rnn", corpus, out, model_overrides=dict(MODEL), progress=False,
                       training_overrides={"max_steps": steps, "batch_size": 16, "lr": 3e-3, "warmup_steps": 20,
                                           "augment": False, "seed": 0, "checkpoint_every": 10**9})
    from tunesmith.generation.run import load_run

    rep = load_run(out).representation
    assert isinstance(rep, TokenRepresentation)
    pieces = load_corpus(corpus, progress=False).pieces
    nll = score(str(out), 8)
    return {"arm": name, "voices": len(rep.settings.get("voices", [])), **representation_figures(rep, pieces),
            "steps": result.steps, "steps_per_s": round(result.steps / (60 * result.minutes), 2),
            "valid_nll": nll["nll"], "valid_tokens": nll["tokens"],
            "program_nll": nll["kinds"].get("Program", {}).get("nll"),
            "program_share": nll["kinds"].get("Program", {}).get("share"),
            "share_by_kind": {kind: figures["share"] for kind, figures in nll["kinds"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--corpus", default="bach")
    args = parser.parse_args()
    torch.set_num_threads(1)
    splits = split_pieces(load_corpus(args.corpus, progress=False).pieces)
    with tempfile.TemporaryDirectory(prefix="voices-bench-") as root:
        arms = [arm(name, args.corpus, args.steps, Path(root)) for name in ("merged", "voices")]
    print(json.dumps({"benchmark": "voices", "corpus": args.corpus, "model": MODEL, "steps": args.steps,
                      "train_pieces": len(splits["train"]), "valid_pieces": len(splits["valid"]), "arms": arms}))


if __name__ == "__main__":
    main()
