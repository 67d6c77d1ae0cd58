"""The token sampler's exact output: the ids of seeded generations, pinned, so that a change to the sampler that
moves a single draw fails here (same seeds, same tokens; with and without the cache and guessing ahead).

The pins belong to the tiny runs trained in code (tests/conftest.py, tests/generation/conftest.py) with the torch
build in constraints.txt. After a deliberate change of what is sampled (or of torch), record them again with
`TUNESMITH_RECORD_PINS=1 pytest tests/generation/test_sampler_pins.py` and say why in the commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from tunesmith.controls.controls import Controls
from tunesmith.generation import token_pieces
from tunesmith.generation.run import generate_tokens, load_run
from tunesmith.piece import Piece

PINS = Path(__file__).with_name("sampler_pins.json")
RECORDING = bool(os.environ.get("TUNESMITH_RECORD_PINS"))
CACHED, RECOMPUTED, NO_GUESSES = (True, True), (False, True), (True, False)  # (use_cache, guess)


def transformer_cases(corpus: Path) -> dict[str, tuple[Controls, list[tuple[bool, bool]]]]:
    continued = Piece.load(corpus / "piece01.mid").bars_slice(0, 2)
    melody = Piece.load(corpus / "piece02.mid").bars_slice(0, 3)
    every = [CACHED, RECOMPUTED, NO_GUESSES]
    return {
        "rows-scale-lock": (Controls(num=2, bars=2, seed=5, key="C major", scale_lock=True), [CACHED, RECOMPUTED]),
        "rows-free": (Controls(num=3, bars=2, seed=9), [CACHED, RECOMPUTED]),
        "one-row-scale-lock": (Controls(num=1, bars=3, seed=2, key="D major", scale_lock=True), every),
        "one-row-primer": (Controls(num=1, bars=4, seed=6, primer=continued, temperature=0.9, top_k=20), every),
        "rows-primer": (Controls(num=2, bars=4, seed=1, primer=continued, top_p=0.9), [CACHED, RECOMPUTED]),
        "infill": (Controls(num=1, seed=3, primer=Piece.load(corpus / "piece00.mid"), infill="3-4"), every),
        "loop": (Controls(num=1, bars=4, seed=8, loopable=True, key="G major", end_on_tonic=True), every),
        "harmonise": (Controls(num=1, seed=2, primer=melody, harmonise=True), [CACHED, RECOMPUTED]),
    }


def rnn_cases(chorale: Piece) -> dict[str, tuple[Controls, list[tuple[bool, bool]]]]:
    primer = chorale.bars_slice(0, 2)
    return {
        "rows": (Controls(num=2, bars=3, seed=7), [CACHED, RECOMPUTED]),
        "one-row-primer-scale-lock": (Controls(num=1, bars=4, seed=0, primer=primer, scale_lock=True),
                                      [CACHED, RECOMPUTED, NO_GUESSES]),
        "rows-primer-filtered": (Controls(num=2, bars=4, seed=3, primer=primer, temperature=1.2, top_k=30),
                                 [CACHED, RECOMPUTED]),
    }


def sampled_ids(run, controls: Controls, use_cache: bool, guess: bool, monkeypatch) -> list[list[list[int]]]:
    """The rows of every call of the sampler in one generation (a loop samples its last bar again)."""
    calls: list[list[list[int]]] = []
    sample_rows = token_pieces.sample_rows
    monkeypatch.setattr(token_pieces, "sample_rows", lambda *a, **k: calls.append(sample_rows(*a, **k)) or calls[-1])
    generate_tokens(run, controls, use_cache=use_cache, guess=guess)
    monkeypatch.setattr(token_pieces, "sample_rows", sample_rows)
    return calls


def check_against_pins(family: str, run, cases, monkeypatch) -> None:
    torch.set_num_threads(1)
    found = {f"{family}/{name}/cache={use_cache}/guess={guess}": sampled_ids(run, controls, use_cache, guess, monkeypatch)
             for name, (controls, variants) in cases.items() for use_cache, guess in variants}
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    if RECORDING:
        pins.update(found)
        PINS.write_text(json.dumps(pins, indent=None, separators=(",", ":")).replace('],"', '],\n"') + "\n")
        pytest.skip(f"recorded {len(found)} pins in {PINS.name}")
    assert set(found) <= set(pins), f"not pinned yet: {sorted(set(found) - set(pins))}"
    for name, calls in found.items():
        assert calls == pins[name], f"{name}: the sampler drew other tokens"


def test_transformer_generations_draw_the_pinned_tokens(tiny_run, tiny_corpus, monkeypatch):
    check_against_pins("transformer", load_run(tiny_run), transformer_cases(tiny_corpus), monkeypatch)


def test_rnn_generations_draw_the_pinned_tokens(tiny_rnn_run, chorales, monkeypatch):
    check_against_pins("rnn", load_run(tiny_rnn_run), rnn_cases(chorales[0]), monkeypatch)


def test_the_pins_cover_guessing_and_its_absence():
    pins = json.loads(PINS.read_text())
    one_row = [name for name in pins if name.startswith("transformer/one-row")]
    assert any(name.endswith("cache=True/guess=True") for name in one_row)
    assert any(name.endswith("cache=True/guess=False") for name in one_row)
    assert all(calls and all(len(row) > 10 for rows in calls for row in rows) for calls in pins.values())
