"""MusicVAE: shapes, reconstruction of its training segments, interpolation endpoints, attribute
vectors that move what they name, the run-directory pipeline and the commands, and clear errors."""

import copy
import dataclasses
import shutil
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import symusic
import torch

from midi_facts import read_midi_independently
from tunesmith.config import config_from_dict, config_to_dict
from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError, TunesmithError
from tunesmith.models.vae import CHAIN_STEP, FAMILY, build_model, chain_step, make_dataset
from tunesmith.models.vae import _latent_chain as vae_chain
from tunesmith.models.vae_attributes import compute_attribute_vectors, save_attribute_vectors
from tunesmith.models.vae_latent import (
    decode_latents,
    encode_piece,
    interpolation_latents,
    piece_segments,
    reconstruction_accuracy,
    slerp,
)
from tunesmith.models.vae_net import SegmentGrid, VAEConfig
from tunesmith.piece import Piece
from tunesmith.representations.voices import VoiceRepresentation

TPQ = 480
TINY = tomllib.loads((Path(__file__).parent / "tiny-vae.toml").read_text())["model"]


def tiny(changes: dict | None = None) -> VAEConfig:
    """The tiny VAE's config with `changes` ({"loss.free_bits": 4.0}...), read as a config file's would be."""
    return config_from_dict(VAEConfig, {**TINY, **(changes or {})})


def melody(notes: list[tuple[int, int, int]], bars: int = 2, velocity: int = 90, name: str = "m") -> Piece:
    """(start step, length in steps, pitch) in 16ths, one track, 4/4."""
    step = TPQ // 4
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Melody", 0)
    for start, length, pitch in notes:
        track.notes.append(symusic.Note(start * step, length * step, pitch, velocity))
    score.tracks.append(track)
    return Piece(score, name=name, source=name)


def every(k: int, pitches: list[int], bars: int = 2, offset: int = 0) -> list[tuple[int, int, int]]:
    """A note every k steps, cycling through `pitches`."""
    return [(s, k, pitches[(i + offset) % len(pitches)]) for i, s in enumerate(range(0, 16 * bars, k))]


def train(model, data, steps: int, lr: float = 3e-3, batch: int = 64, seed: int = 0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr)
    model.train()
    for i in range(steps):
        idx = torch.randint(len(data), (min(batch, len(data)),), generator=torch.Generator().manual_seed(i))
        items = [data[int(j)] for j in idx]
        loss, _ = model.loss({k: torch.stack([it[k] for it in items]) for k in items[0]})
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def two_tunes():
    """A tiny VAE trained on two 2-bar melodies."""
    torch.set_num_threads(1)
    rep = VoiceRepresentation(min_pitch=48, max_pitch=84)
    a = melody([(0, 4, 60), (4, 2, 62), (6, 2, 64), (8, 8, 67), (16, 4, 65), (20, 4, 64), (24, 8, 60)], name="a")
    b = melody([(0, 2, 72), (2, 2, 71), (4, 2, 69), (6, 2, 67), (8, 6, 69), (16, 8, 74), (28, 4, 72)], name="b")
    torch.manual_seed(0)
    model = build_model(tiny(), rep)
    data = make_dataset([a, b], rep, model.config, seed=0)
    assert len(data) == 2
    return rep, train(model, data, 300, lr=5e-3), a, b, data


def test_shapes_flat_and_hierarchical():
    rep = VoiceRepresentation(voices=3, mode="tracks")
    for hierarchical, bars, bar_paths in ((False, 2, False), (True, 4, False), (True, 4, True)):
        model = build_model(tiny({"segment_bars": bars, "hierarchical": hierarchical, "bar_paths": bar_paths}), rep)
        assert model.to_mu.in_features == 2 * 48 * (bars if bar_paths else 1)  # every bar's state, or the last
        steps = bars * 16
        events = torch.randint(0, rep.events, (5, 3, steps))
        velocities = torch.randint(0, rep.velocity_bins, (5, 3, steps))
        mu, sigma = model.encode(events, velocities)
        assert mu.shape == sigma.shape == (5, 16) and (sigma > 0).all()
        assert model.conditions(mu).shape == ((5, bars, 32) if hierarchical else (5, 1, 16))
        logits_e, logits_v = model.decode_logits(mu, *model._shift(events, velocities))
        assert logits_e.shape == (5, steps, 3, rep.events) and logits_v.shape == (5, steps, 3, rep.velocity_bins)
        loss, stats = model.loss({"events": events, "velocities": velocities})
        assert loss.ndim == 0 and torch.isfinite(loss) and 0 <= stats["accuracy"] <= 1
        sampled_e, sampled_v = model.eval().sample(mu[:2], generator=torch.Generator().manual_seed(0))
        assert sampled_e.shape == sampled_v.shape == (2, 3, steps)
        # a hold never follows a rest or starts the segment
        prev = torch.cat([torch.zeros_like(sampled_e[..., :1]), sampled_e[..., :-1]], -1)
        assert not ((sampled_e == 1) & (prev == 0)).any()


def test_sizes_come_from_the_representation_and_settings_check_themselves():
    rep = VoiceRepresentation(voices=3, mode="tracks", velocity_bins=16)
    model = build_model(tiny(), rep)
    assert model.grid == SegmentGrid(voices=3, events=rep.events, velocity_bins=16, steps_per_bar=16)
    assert model.steps == 32 and not {"voices", "events", "velocity_bins", "steps_per_bar"} & set(
        config_to_dict(model.config))  # sizes are read from the representation, never saved as settings
    assert (model.config.encoder.size, model.config.decoder.size, model.config.loss.free_bits) == (48, 128, 12.0)
    for changes, problem in [({"hierarchical": True, "segment_bars": 1},
                              "segment_bars must be at least 2 for the hierarchical decoder (got 1)"),
                             ({"decoder.scheduled_sampling": 1.5},
                              "decoder.scheduled_sampling must be between 0.0 and 1.0 (got 1.5)"),
                             ({"dropout": 1.0}, "dropout must be at least 0 and below 1 (got 1.0)")]:
        with pytest.raises(TunesmithError) as raised:
            tiny(changes)
        assert str(raised.value) == f"model setting {problem}"
    with pytest.raises(TunesmithError, match=r"^model setting chunk_loss is now loss.chunk_weight \(in a TOML file: "
                                             r"\[model.loss\] chunk_weight = ...\)$"):
        config_from_dict(VAEConfig, {"chunk_loss": 1.0})


def test_scheduled_sampling_and_beta_ramp_follow_the_step_count():
    rep = VoiceRepresentation()
    model = build_model(tiny({"loss.beta_warmup_steps": 4, "decoder.scheduled_sampling": 0.5,
                              "decoder.scheduled_sampling_steps": 2}), rep).train()
    batch = {"events": torch.randint(0, rep.events, (3, 1, 32)), "velocities": torch.zeros(3, 1, 32, dtype=torch.long)}
    betas = [model.loss(batch)[1]["beta"] for _ in range(6)]
    assert betas == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])
    assert model._sampling_probability() == 0.5 and int(model.trained_steps) == 6
    model.eval()
    model.loss(batch)
    assert int(model.trained_steps) == 6  # validation does not advance the schedules


def chunk_weighted(config: VAEConfig, weight: float) -> VAEConfig:
    return dataclasses.replace(config, loss=dataclasses.replace(config.loss, chunk_weight=weight))


def test_chunk_loss_reads_every_step_from_the_bar_embedding_alone():
    rep = VoiceRepresentation(min_pitch=48, max_pitch=84)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    pieces = [melody(every(k, scale, bars=4, offset=o), bars=4, name=f"k{k}-{o}") for k in (2, 4) for o in range(4)]
    torch.manual_seed(0)
    model = build_model(tiny({"segment_bars": 4, "hierarchical": True, "loss.chunk_weight": 1.0}), rep)
    assert model.chunk_head.out_features == 16 * rep.events  # one bar's steps from one bar embedding
    assert "chunk_head" not in dict(build_model(tiny(), rep).named_children())  # off by default
    data = make_dataset(pieces, rep, model.config, seed=0)
    batch = {k: torch.stack([data[i][k] for i in range(len(data))]) for k in ("events", "velocities")}
    torch.manual_seed(1)
    loss, stats = model.train().loss(batch)
    torch.manual_seed(1)
    model.config = chunk_weighted(model.config, 0.5)
    half, half_stats = model.loss(batch)
    # the same z (same seed): the chunk term is the only part the weight changes
    assert stats["chunk_nll"] == pytest.approx(half_stats["chunk_nll"], rel=1e-5)
    assert float((loss - half).detach()) == pytest.approx(0.5 * stats["chunk_nll"], rel=1e-4)
    assert stats["chunk_nll"] > 0.9 * 4 * 16 * np.log(rep.events)  # untrained: about uniform per step
    model.config = chunk_weighted(model.config, 1.0)
    train(model, data, 150, lr=5e-3)
    assert model.train().loss(batch)[1]["chunk_nll"] < 0.3 * stats["chunk_nll"]  # z now carries the bars' notes


def test_the_prior_is_fitted_to_the_training_posteriors_and_generate_samples_it(two_tunes, tmp_path):
    rep, trained, a, b, data = two_tunes
    model = build_model(tiny(), rep)
    assert model.prior_mean.abs().sum() == 0 and (model.prior_std == 1).all()
    batch = {k: torch.stack([data[i][k] for i in range(2)]) for k in ("events", "velocities")}
    mu, sigma = model.encode(batch["events"], batch["velocities"])
    model.train().loss(batch)
    spread = (mu.var(0, unbiased=False) + sigma.pow(2).mean(0)).sqrt()
    assert torch.allclose(model.prior_mean, 0.01 * mu.detach().mean(0), atol=1e-6)
    assert torch.allclose(model.prior_std, 0.99 + 0.01 * spread.detach(), atol=1e-6)
    z = torch.randn(3, 16)
    assert torch.allclose(model.to_standard(model.from_standard(z)), z, atol=1e-5)
    # a prior narrowed onto one tune's latent: every draw decodes that tune
    fitted = copy.deepcopy(trained)
    target = encode_piece(fitted, rep, a)[0][0]
    fitted.prior_mean.copy_(target)
    fitted.prior_std.fill_(1e-4)
    run = SimpleNamespace(path=tmp_path, config={}, model=fitted, representation=rep, device=torch.device("cpu"))
    for piece in FAMILY.generate(run, Controls(num=3, bars=2, seed=5, temperature=0.05)):
        assert (piece_segments(rep, 2, piece)[0].events == piece_segments(rep, 2, a)[0].events).mean() > 0.9
    assert not hasattr(build_model(tiny({"fitted_prior": False}), rep), "prior_mean")


def test_tiny_vae_reconstructs_its_two_training_segments(two_tunes):
    rep, model, a, b, data = two_tunes
    grids = [piece_segments(rep, 2, p)[0] for p in (a, b)]
    scores = reconstruction_accuracy(model, grids)
    assert scores["sampled"] > 0.9 and scores["teacher_forced"] > 0.9
    assert scores["velocity"] == 1.0


def test_interpolation_endpoints_decode_close_to_the_inputs(two_tunes):
    rep, model, a, b, _ = two_tunes
    z = interpolation_latents(model, rep, a, b, steps=5)
    assert z.shape == (5, 16)
    grids = decode_latents(model, z)
    for grid, piece in ((grids[0], a), (grids[-1], b)):
        target = piece_segments(rep, 2, piece)[0]
        assert (grid.events == target.events).mean() > 0.9
    # slerp keeps the ends and stays between them
    x, y = torch.randn(16), torch.randn(16)
    assert torch.allclose(slerp(x, y, 0.0), x, atol=1e-5) and torch.allclose(slerp(x, y, 1.0), y, atol=1e-5)


def test_density_vector_raises_the_note_density_of_decoded_music(tmp_path):
    rep = VoiceRepresentation(min_pitch=48, max_pitch=84)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    pieces = [melody(every(k, scale, offset=o), name=f"k{k}-{o}") for k in (1, 2, 4, 8) for o in range(8)]
    torch.manual_seed(1)
    model = build_model(tiny(), rep)
    train(model, make_dataset(pieces, rep, model.config, seed=0, augment=True), 150, seed=1, batch=32)
    vectors = compute_attribute_vectors(model, rep, pieces, source="fixture", progress=False)
    density = vectors["attributes"]["density"]
    assert density["low"] < density["high"] and density["vector"] is not None
    assert vectors["attributes"]["velocity"]["vector"] is None  # every note has velocity 90
    save_attribute_vectors(tmp_path, vectors)
    run = SimpleNamespace(path=tmp_path, config={}, model=model, representation=rep, device=torch.device("cpu"))

    def measured(amount: float) -> float:
        controls = Controls(num=12, bars=2, seed=3, temperature=0.5, attributes={"density": amount})
        pieces = FAMILY.generate(run, controls)
        notes = [len(symusic.Score.from_midi(p.score.dumps_midi()).tracks[0].notes) for p in pieces]
        return float(np.mean(notes)) / 2  # notes per bar, read back from the MIDI

    low, middle, high = measured(-1.5), measured(0.0), measured(1.5)
    assert low < middle < high


def notes_of(piece: Piece) -> list[tuple[int, int, int, int]]:
    return sorted((n.time, n.duration, n.pitch, n.velocity) for t in piece.score.tracks for n in t.notes)


def test_generate_joins_segments_and_refuses_what_it_cannot_do(two_tunes, tmp_path):
    rep, model, a, b, _ = two_tunes
    run = SimpleNamespace(path=tmp_path / "run", config={}, model=model, representation=rep,
                          device=torch.device("cpu"))
    pieces = FAMILY.generate(run, Controls(num=2, bars=5, seed=1, tempo=90))
    assert len(pieces) == 2 and all(p.note_count > 0 and p.bars == 5 for p in pieces)  # 3 segments cut to 5 bars
    assert pieces[0].tags["asked"]["segments"] == 3 and pieces[0].tempo == pytest.approx(90, abs=1e-3)
    again = FAMILY.generate(run, Controls(num=2, bars=5, seed=1, tempo=90))
    assert [notes_of(p) for p in again] == [notes_of(p) for p in pieces]  # same seed, same music
    other = FAMILY.generate(run, Controls(num=2, bars=5, seed=2, tempo=90))
    assert [notes_of(p) for p in other] != [notes_of(p) for p in pieces]
    near = FAMILY.generate(run, Controls(num=1, bars=2, primer=a, variation=0.0, temperature=0.05, seed=4))
    assert (piece_segments(rep, 2, near[0])[0].events == piece_segments(rep, 2, a)[0].events).mean() > 0.9
    with pytest.raises(ControlError, match="--style: it learns no style tags"):
        FAMILY.generate(run, Controls(style="folk"))
    with pytest.raises(ControlError, match="give --primer"):
        FAMILY.generate(run, Controls(variation=0.3))
    with pytest.raises(ControlError, match="tunesmith attributes"):
        FAMILY.generate(run, Controls(attributes={"density": 1.0}))


def test_a_run_sets_how_far_its_segments_latents_move(two_tunes, tmp_path):
    rep, model, *_ = two_tunes
    assert chain_step({}) == CHAIN_STEP and chain_step({"sampling": {"temperature": 0.3}}) == CHAIN_STEP
    assert chain_step({"sampling": {"chain_step": 0.08}}) == 0.08
    for bad in (-0.1, 1.5, "near", True):
        with pytest.raises(TunesmithError, match="sampling.chain_step must be a number from 0 to 1"):
            chain_step({"sampling": {"chain_step": bad}})

    def segments(step: float) -> list[list[tuple[int, int, int]]]:
        run = SimpleNamespace(path=tmp_path / "run", config={"sampling": {"chain_step": step}}, model=model,
                              representation=rep, device=torch.device("cpu"))
        piece = FAMILY.generate(run, Controls(num=1, bars=8, seed=3, temperature=1e-3))[0]
        span = 2 * piece.bar_ticks
        return [[(t - i * span, d, p) for t, d, p, _ in notes_of(piece) if i * span <= t < (i + 1) * span]
                for i in range(4)]

    still = segments(0.0)  # one latent decoded four times, all but greedily: the same two bars four times
    assert still[0] and all(s == still[0] for s in still[1:])
    z = torch.randn(16, generator=torch.Generator().manual_seed(0))
    gaps = {step: [float((a - b).norm()) for a, b in zip(chain[:-1], chain[1:], strict=True)]
            for step in (0.08, 0.35)
            for chain in [vae_chain(z, 6, torch.Generator().manual_seed(1), step)]}
    assert max(gaps[0.08]) < min(gaps[0.35])  # the same fresh draws, a shorter step each time


def test_bad_input_gives_a_clear_error(two_tunes):
    rep, model, a, *_ = two_tunes
    with pytest.raises(TunesmithError, match=r"1 bar long; this model encodes segments of 2 bars"):
        encode_piece(model, rep, melody([(0, 4, 60)], name="short"), "the primer")
    with pytest.raises(TunesmithError, match="has no notes"):
        encode_piece(model, rep, melody([], name="silent"))
    with pytest.raises(TunesmithError, match="bar_paths needs the hierarchical decoder"):
        build_model(tiny({"bar_paths": True}), rep)
    with pytest.raises(TunesmithError, match="needs the 'voices' representation"):
        build_model(VAEConfig(), SimpleNamespace(kind="tokens"))


def test_pipeline_train_generate_and_commands(vae_run, tmp_path, run_cli):
    from tunesmith.generation.run import load_run

    run = load_run(vae_run)  # trained by the shared fixture (tests/models/conftest.py) on the tiny corpus
    for i, piece in enumerate(run.generate(Controls(num=2, bars=3, seed=2))):
        written = read_midi_independently(piece.save(tmp_path / f"g{i}.mid"))
        assert written.notes and written.bars == 3 and written.bar_ticks == 4 * written.tpq
    run_dir = tmp_path / "run"  # the attributes command writes into the run: a copy, not the shared one
    shutil.copytree(vae_run, run_dir)
    corpus = tmp_path / "corpus"  # melodies of 2, 4 and 8 sixteenths per note: the density varies
    corpus.mkdir()
    scale = [60, 62, 64, 67, 69, 72]
    for i in range(6):
        melody(every(2 ** (i % 3 + 1), scale, bars=4, offset=i), bars=4).score.dump_midi(str(corpus / f"t{i}.mid"))
    first, second = corpus / "t0.mid", corpus / "t1.mid"

    code, _, err = run_cli("attributes", run_dir, "--corpus", corpus, "--no-progress")
    assert code == 0, err
    assert (run_dir / "attributes.json").exists() and not (vae_run / "attributes.json").exists()
    out = tmp_path / "interp"
    code, _, err = run_cli("interpolate", run_dir, first, second, "--steps", "3", "--out", out, "--no-wav",
                           "--no-png", "--attribute", "density=0.5")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["interp-01.mid", "interp-02.mid", "interp-03.mid",
                                                     "interpolation.mid"]
    steps = [read_midi_independently(out / f"interp-0{i}.mid") for i in (1, 2, 3)]
    assert all(step.notes and step.bars == 2 for step in steps)  # one 2-bar segment each ...
    whole = read_midi_independently(out / "interpolation.mid")
    assert whole.bars == 6  # ... and the three in a row
    assert sorted((n.start, n.pitch) for n in whole.notes) == sorted(
        (n.start + k * 2 * whole.bar_ticks, n.pitch) for k, step in enumerate(steps) for n in step.notes)

    out = tmp_path / "rec"
    code, _, err = run_cli("reconstruct", run_dir, second, "--out", out, "--no-wav", "--no-png")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == {"t1-original.mid", "t1-reconstructed.mid"}
    assert read_midi_independently(out / "t1-reconstructed.mid").notes

    short = tmp_path / "short.mid"
    melody([(0, 4, 60)]).score.dump_midi(str(short))
    code, out_text, err = run_cli("reconstruct", run_dir, short, "--out", tmp_path / "rec2")
    assert code == 2 and out_text == "" and err.count("\n") == 1
    assert err.startswith("error: ") and "1 bar long; this model encodes segments of 2 bars" in err
    empty = tmp_path / "empty.mid"
    score = symusic.Score(TPQ)
    score.tracks.append(symusic.Track("x", 0))
    score.dump_midi(str(empty))
    code, out_text, err = run_cli("interpolate", run_dir, empty, short, "--out", tmp_path / "interp2")
    assert code == 2 and out_text == "" and err.count("\n") == 1
    assert err.startswith("error: ") and "no notes" in err
    assert not (tmp_path / "rec2").exists() and not (tmp_path / "interp2").exists()
