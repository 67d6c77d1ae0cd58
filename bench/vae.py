"""VAE benchmark: train MusicVAE on 2-bar and 16-bar segments, then measure on the held-out (test) split
the per-step reconstruction accuracy (teacher-forced, and sampled greedily from the posterior mean, as
MusicVAE reports it), the KL per segment, and how smoothly interpolations move (average change of note
density and mean pitch between neighbouring steps), against MusicVAE's data-space baseline: the
"crossfade" that takes each step of the grid from the first piece with probability 1 - t, else the second;
and the share of latents drawn from the prior (as `generate` draws them) that decode to noise.

    python bench/vae.py --corpus folk            # monophonic: the top voice of each tune
    python bench/vae.py --corpus bach            # the four chorale voices
    python bench/vae.py --corpus folk --segments 2 --minutes 10
    python bench/vae.py --run pretrained/folk-vae-2bar   # scores a trained run (a zoo name too) on its corpus

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch

from tunesmith.data import load_corpus, split_pieces
from tunesmith.fileio import write_json_atomic
from tunesmith.generation.run import load_run
from tunesmith.models.vae import make_dataset
from tunesmith.models.vae_latent import decode_latents, encode_grids, reconstruction_accuracy, slerp
from tunesmith.representations.voices import FIRST_PITCH, HOLD, REST, VoiceGrid
from tunesmith.training.trainer import apply_settings, train

ROOT = Path(__file__).resolve().parent.parent
MULTI_VOICE = {"bach": {"voices": 4, "mode": "tracks"}}


def train_config(bars: int, corpus: str, minutes: float | None, out: Path, settings: list[str] = ()) -> Path:
    """configs/vae-{bars}bar.toml, with the corpus's voices, the time limit and `settings` ("section.key=value",
    the value in TOML), as a JSON file in `out`."""
    values = tomllib.loads((ROOT / "configs" / f"vae-{bars}bar.toml").read_text())
    values["representation"].update(MULTI_VOICE.get(corpus, {}))
    apply_settings(values, list(settings))
    if minutes is not None:
        values["training"]["max_minutes"] = minutes
    path = out / f"vae-{bars}bar-{Path(corpus).name}.json"
    write_json_atomic(path, values)
    return path


def crossfade(a: VoiceGrid, b: VoiceGrid, t: float, rng: np.random.Generator) -> VoiceGrid:
    """Data-space interpolation: each (voice, step) from `a` with probability 1 - t, else from `b`."""
    take_b = rng.random(a.events.shape) < t
    events = np.where(take_b, b.events, a.events)
    velocities = np.where(take_b, b.velocities, a.velocities)
    for v in range(events.shape[0]):  # a hold needs a sounding note before it
        for s in range(events.shape[1]):
            if events[v, s] == HOLD and (s == 0 or events[v, s - 1] == REST):
                events[v, s] = REST
    return VoiceGrid(events, velocities)


def density_and_pitch(rep, grid: VoiceGrid, bars: int) -> tuple[float, float]:
    """Notes per bar and mean MIDI pitch of a grid, measured on the decoded piece."""
    piece = rep.decode(grid)
    pitches = piece.pitches()
    return piece.note_count / bars, float(pitches.mean()) if len(pitches) else float("nan")


def smoothness(rep, paths: list[list[VoiceGrid]], bars: int) -> dict[str, float]:
    """Average |change| of note density and mean pitch between neighbouring interpolation steps."""
    d_density, d_pitch = [], []
    for path in paths:
        measured = np.array([density_and_pitch(rep, g, bars) for g in path])
        d_density.append(np.abs(np.diff(measured[:, 0])).mean())
        pitch = measured[:, 1]
        ok = ~np.isnan(pitch)
        if ok.sum() >= 2:
            d_pitch.append(np.abs(np.diff(pitch[ok])).mean())
    return {"density_change": round(float(np.mean(d_density)), 4), "pitch_change": round(float(np.mean(d_pitch)), 4)}


def prior_noise(model, grids: list[VoiceGrid], count: int = 96, seed: int = 0) -> float:
    """Share of latents drawn from the model's prior (`generate`'s) whose decoded segment starts more notes
    than any held-out segment does: noise rather than music."""
    most = max(int((g.events >= FIRST_PITCH).sum()) for g in grids)
    u = torch.randn(count, model.config.latent_size, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    decoded = decode_latents(model, model.from_standard(u).to(next(model.parameters()).device), temperature=1.0)
    return float(np.mean([int((g.events >= FIRST_PITCH).sum()) > most for g in decoded]))


def evaluate(run_dir: Path, test_pieces, max_segments: int, pairs: int, steps: int, seed: int,
             device: str = "cpu") -> dict:
    """Held-out reconstruction accuracy, KL and interpolation smoothness of a trained run."""
    run = load_run(run_dir, device)
    model, rep = run.model, run.representation
    data = make_dataset(test_pieces, rep, model.config, seed, augment=False)
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(data))[:max_segments]
    grids = [VoiceGrid(data.events[i], data.velocities[i]) for i in index]
    scores = reconstruction_accuracy(model, grids)
    pair_index = rng.permutation(len(grids))[: 2 * pairs].reshape(-1, 2)
    latent_paths, data_paths = [], []
    for i, j in pair_index:
        mu = encode_grids(model, [grids[i], grids[j]])[0]
        z = torch.stack([slerp(mu[0], mu[1], float(t)) for t in np.linspace(0, 1, steps)])
        latent_paths.append(decode_latents(model, z))
        data_paths.append([crossfade(grids[i], grids[j], float(t), rng) for t in np.linspace(0, 1, steps)])
    bars = model.config.segment_bars
    metrics = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    return {
        "held_out_segments": len(grids),
        "accuracy_teacher_forced": round(scores["teacher_forced"], 4),
        "accuracy_sampled": round(scores["sampled"], 4),
        "velocity_accuracy": round(scores["velocity"], 4),
        "kl_bits_per_segment": round(scores["kl_bits"], 2),
        "interpolation_latent": smoothness(rep, latent_paths, bars),
        "interpolation_crossfade": smoothness(rep, data_paths, bars),
        "prior_noise": round(prior_noise(model, grids, seed=seed), 4),
        "train_steps": metrics.get("step"),
        "valid_loss": round(metrics.get("valid_loss", float("nan")), 3),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="folk", help="bach, folk, or a folder of MIDI files")
    parser.add_argument("--segments", default="2,16", help="segment lengths in bars (configs/vae-Nbar.toml)")
    parser.add_argument("--minutes", type=float, default=None, help="training time per model (default: the config's)")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N corpus files")
    parser.add_argument("--out", type=Path, default=Path("out/bench-vae"), help="folder for the runs")
    parser.add_argument("--reuse", action="store_true", help="evaluate runs already in --out instead of training")
    parser.add_argument("--run", default=None, help="score this trained run (a directory or a zoo name) on the test "
                                                    "split of its own corpus, instead of training")
    parser.add_argument("--eval-segments", type=int, default=2000, help="held-out segments to score (at most)")
    parser.add_argument("--pairs", type=int, default=32, help="interpolations to measure")
    parser.add_argument("--steps", type=int, default=7, help="points per interpolation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for training and scoring")
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for training and scoring")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change a setting of the config, e.g. --set model.loss.free_bits=96 (repeatable)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    if args.run:
        run = load_run(args.run)
        corpus = run.config["corpus"]
        args.corpus, args.limit, args.segments = corpus["source"], corpus.get("limit"), ""
        test_pieces = split_pieces(load_corpus(args.corpus, limit=args.limit, progress=False).pieces)["test"]
        result = evaluate(run.path, test_pieces, args.eval_segments, args.pairs, args.steps, args.seed, args.device)
        print(json.dumps({"bench": "vae", "run": str(args.run), "corpus": args.corpus, "limit": args.limit,
                          "test_pieces": len(test_pieces), "results": {
                              f"{run.model.config.segment_bars}bar": result}}))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    test_pieces = split_pieces(load_corpus(args.corpus, limit=args.limit, progress=False).pieces)["test"]
    results = {}
    for bars in (int(b) for b in args.segments.split(",")):
        run_dir = args.out / f"{Path(args.corpus).name}-{bars}bar"
        started, cpu_started = time.monotonic(), time.process_time()
        if not args.reuse:
            config = train_config(bars, args.corpus, args.minutes, args.out, args.set)
            fit = train("vae", args.corpus, run_dir, config_file=config, limit=args.limit, progress=False,
                        device=args.device)
            print(f"{run_dir}: {fit.steps} steps, stopped by {fit.stopped_because}", file=sys.stderr)
        train_minutes, cpu_minutes = (time.monotonic() - started) / 60, (time.process_time() - cpu_started) / 60
        result = evaluate(run_dir, test_pieces, args.eval_segments, args.pairs, args.steps, args.seed, args.device)
        result["train_minutes"] = None if args.reuse else round(train_minutes, 1)
        result["train_cpu_minutes"] = None if args.reuse else round(cpu_minutes, 1)  # the CPU this process got
        results[f"{bars}bar"] = result
    print(json.dumps({"bench": "vae", "corpus": args.corpus, "limit": args.limit, "threads": args.threads,
                      "device": args.device, "set": args.set, "test_pieces": len(test_pieces), "results": results}))


if __name__ == "__main__":
    main()
