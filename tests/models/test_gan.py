"""The GAN family: shapes, one training step, the gradient penalty, roll-to-notes and conditioning."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import symusic
import torch

from tunesmith.config import config_from_dict
from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError, TunesmithError
from tunesmith.models import get_family
from tunesmith.models.gan import FAMILY, GANConfig, make_dataset, train_step
from tunesmith.models.gan_config import CriticSettings
from tunesmith.models.gan_networks import binary_roll, gate_min, gradient_penalty, voice_margin
from tunesmith.models.gan_sampling import chained_latents, generate, parse_roll_sampling
from tunesmith.piece import Piece
from tunesmith.representations.pianoroll import ONSET, SOUNDING, VELOCITY, PianoRollRepresentation, TrackSpec
from tunesmith.theory import parse_key

TINY = tomllib.loads((Path(__file__).parent / "tiny-gan.toml").read_text())["model"]
SMALL = config_from_dict(GANConfig, TINY)


def small(changes: dict) -> GANConfig:
    """The tiny GAN's config with `changes` ({"gates.bar": True}...), read as a config file's would be."""
    return config_from_dict(GANConfig, {**TINY, **changes})


def small_rep(steps_per_beat: int = 4, beats: int = 4) -> PianoRollRepresentation:
    return PianoRollRepresentation(steps_per_beat=steps_per_beat, beats_per_bar=beats, lowest=48, highest=72,
                                   tracks=[TrackSpec("Melody", 0), TrackSpec("Bass", 32)])


def small_run(config: GANConfig = SMALL, rep: PianoRollRepresentation | None = None) -> SimpleNamespace:
    rep = rep or small_rep()
    torch.manual_seed(0)
    model = FAMILY.build_model(config, rep).eval()
    return SimpleNamespace(model=model, representation=rep, device=torch.device("cpu"), family=FAMILY)


def melody_piece(bars: int = 3, name: str = "my tune") -> Piece:
    """A one-track melody (by default named unlike any model track) at 480 ticks per quarter."""
    score = symusic.Score(480)
    track = symusic.Track(name, 0, False)
    for i in range(bars * 4):
        track.notes.append(symusic.Note(i * 480, 240 if i % 3 else 480, 60 + (i * 5) % 12, 40 + (7 * i) % 80))
    score.tracks.append(track)
    return Piece(score, name="tune")


def notes_of(piece: Piece) -> list[list[tuple[int, int, int, int]]]:
    """Each track's notes as (start, end, pitch, velocity)."""
    return [sorted((n.time, n.end, n.pitch, n.velocity) for n in t.notes) for t in piece.score.tracks]


@pytest.mark.parametrize(("steps_per_beat", "beats"), [(4, 4), (6, 4), (4, 3)])
def test_shapes_and_channels(steps_per_beat, beats):
    run = small_run(rep=small_rep(steps_per_beat, beats))
    model, steps = run.model, 2 * steps_per_beat * beats
    probs = model.generator(model.generator.latents(3))
    assert probs.shape == (3, 2, steps, 25, 3)
    assert float(probs.detach().min()) >= 0 and float(probs.detach().max()) <= 1
    roll = binary_roll(probs)  # what the critic sees: 0/1 like the data
    assert set(roll[..., :2].detach().unique().tolist()) <= {0.0, 1.0}
    assert bool((roll[..., ONSET] <= roll[..., SOUNDING]).all())  # an onset only where a note sounds
    assert bool((roll[..., VELOCITY] <= roll[..., SOUNDING]).all())
    assert bool((roll[..., SOUNDING] == (probs[..., SOUNDING] > 0.5)).all())
    roll.sum().backward()  # straight-through: the hard roll still passes gradients to the generator
    assert model.generator.out.weight.grad.abs().sum() > 0
    assert model.critic(roll).shape == (3,)
    condition = torch.rand(3, steps, 25, 3)
    fake = model.fake(roll.detach())
    assert fake.shape == roll.shape and set(fake[..., :2].detach().unique().tolist()) <= {0.0, 1.0}
    assert model.generator(model.generator.latents(3), condition, torch.tensor([0, 1, 2])).shape == roll.shape


def test_pitches_are_chosen_per_block_and_tracks_gate_and_strike_as_one():
    model = small_run(small({"generator.pitch_steps": 4, "gates.steps": 4})).model
    with torch.no_grad():  # an untrained generator sounds everywhere: give its pitches and gates some contrast
        model.generator.pitch_bias[:, SOUNDING].normal_(generator=torch.Generator().manual_seed(2))
        model.generator.gates.bias[SOUNDING] = 0.0
        probs = model.generator(model.generator.latents(6, torch.Generator().manual_seed(1)))  # [B, T, L, P, 3]
    onset = probs[..., ONSET]
    assert torch.equal(onset, onset[..., :1].expand_as(onset))  # one strike for all of a track's pitches
    on = (probs[..., SOUNDING] > 0.5).view(6, 2, -1, 4, 25)  # [B, T, blocks, 4 steps, P]
    assert bool(on.any()) and bool((~on).any())
    assert torch.equal(on, on[:, :, :, :1].expand_as(on))  # a block's four steps sound the same pitches
    flat = small_run(small({"generator.pitch_steps": 1, "gates.track": False})).model
    with torch.no_grad():
        free = flat.generator(flat.generator.latents(6, torch.Generator().manual_seed(1)))
    assert not torch.equal(free[..., ONSET], free[..., :1, ONSET].expand_as(free[..., ONSET]))
    with pytest.raises(TunesmithError, match="^model setting generator.pitch_steps must divide the 16 steps"):
        small_run(small({"generator.pitch_steps": 3}))


@pytest.mark.parametrize(("changes", "problem"), [
    ({"gates.voice_limit": True, "gates.track": False},
     "gates.voice_limit needs gates.track = true (a one-voice track could never rest)"),
    ({"gates.steps": 2, "gates.track": False}, "gates.steps needs gates.track = true (it groups the track gates)"),
    ({"gates.learn_bar": False}, "gates.learn_bar = false needs gates.bar = true"),
    ({"phrases.transpose": 3}, "phrases.transpose does nothing with phrases.key_normalize = true (every piece is "
                               "moved to C major or A minor)"),
    ({"critic.steps": 0}, "critic.steps must be at least 1 (got 0)"),
    ({"phrases.condition_prob": 1.5}, "phrases.condition_prob must be between 0.0 and 1.0 (got 1.5)"),
    ({"bars": 0}, "bars must be at least 1 (got 0)"),
])
def test_settings_that_cannot_work_are_refused_in_one_line_naming_the_setting(changes, problem):
    with pytest.raises(TunesmithError) as raised:
        small(changes)
    assert str(raised.value) == f"model setting {problem}"


def test_settings_live_in_sections_and_old_names_say_where_they_went():
    assert (SMALL.bars, SMALL.generator.latent_dim, SMALL.generator.channels) == (2, 8, 16)
    assert (SMALL.critic.channels, SMALL.critic.steps, SMALL.phrases.transpose) == (8, 2, 0)
    both = config_from_dict(GANConfig, {"critic": {"lr": 2e-3}, "critic.steps": 3})  # a table and a --set
    assert both.critic == CriticSettings(steps=3, lr=2e-3) and both.gates == GANConfig().gates
    with pytest.raises(TunesmithError) as raised:
        config_from_dict(GANConfig, {"critic_steps": 3})
    assert str(raised.value) == ("model setting critic_steps is now critic.steps (in a TOML file: "
                                 "[model.critic] steps = ...)")
    for removed in ("metre_start", "single_strikes", "critic_bar_summary"):
        with pytest.raises(TunesmithError, match=f"^model setting {removed} was removed: it did not help"):
            config_from_dict(GANConfig, {removed: False})


def test_voice_margin_keeps_one_voice_tracks_to_their_likeliest_pitch():
    logits = torch.tensor([[-3.0, -1.0, -2.0, -4.0], [2.0, 1.5, -1.0, 0.5]])
    # the likeliest wins by its margin over the runner-up, even below 0; the others lose by theirs below the top
    assert torch.allclose(voice_margin(logits), torch.tensor([[-2.0, 1.0, -1.0, -3.0], [0.5, -0.5, -3.0, -1.5]]))
    rep = small_rep()
    rep.tracks[0].max_voices, rep.tracks[1].max_voices = 1, 2
    model = small_run(small({"gates.voice_limit": True}), rep=rep).model
    with torch.no_grad():
        model.generator.gates.bias[SOUNDING] = 20.0  # every step sounds: the pitches alone decide
        probs = model.generator(model.generator.latents(4, torch.Generator().manual_seed(3)))
    voices = (probs[..., SOUNDING] > 0.5).sum(-1)  # [B, T, L]
    assert bool((voices[:, 0] == 1).all()) and bool((voices[:, 1] > 2).any())  # two voices: left to the pitches


def test_gate_min_is_the_minimum_and_both_gates_learn():
    a = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
    b = torch.tensor([4.0, -1.0, 3.0], requires_grad=True)
    out = gate_min(a, b)
    assert torch.equal(out.detach(), torch.tensor([0.5, -2.0, 3.0]))
    out.sum().backward()  # the smooth minimum's gradient: a share each, sigmoid(b - a) for a
    assert torch.allclose(a.grad, torch.sigmoid(torch.tensor([3.5, 1.0, 0.0])))
    assert torch.allclose(a.grad + b.grad, torch.ones(3))


def test_bar_gates_start_at_the_corpus_rests_and_silence_whole_bars():
    model = small_run(small({"gates.bar": True})).model
    real = torch.zeros(8, 2, 32, 25, 3)  # eight 2-bar phrases
    real[:, 1, :, 3, SOUNDING] = 1.0  # the bass always plays
    real[:4, 0, :16, 5, SOUNDING] = 1.0  # the melody rests in the second bar of every phrase, and in both bars
    real[4:6, 0, :, 5, SOUNDING] = 1.0  # of two phrases: 10 of 16 bars (62.5 %) silent
    model.start_bars(real)
    generator = model.generator
    z = generator.latents(512, torch.Generator().manual_seed(7))  # fresh latents, not those it started on
    with torch.no_grad():
        open_bars = (generator.bar_logits(generator.bar_inputs(z, torch.full((512,), 2))) > 0).float().mean((0, 2))
    assert abs(float(open_bars[0]) - 0.375) < 0.06 and float(open_bars[1]) > 0.95  # the bass: 1 % rests at most
    assert torch.equal(model.generator_ema.bar_bias, generator.bar_bias)
    with torch.no_grad():
        generator.bar_bias[0] = -50.0  # a closed gate silences every step of the track's bars
        generator.step_bias.fill_(5.0)
        generator.gates.bias.fill_(5.0)
        probs = generator(generator.latents(4, torch.Generator().manual_seed(1)))
    assert not bool((probs[:, 0, ..., SOUNDING] > 0.5).any()) and bool((probs[:, 1, ..., SOUNDING] > 0.5).any())


def test_one_training_step_changes_both_networks():
    run = small_run()
    model = run.model.train()
    before = copy.deepcopy(model.state_dict())
    optimizers = model.configure_optimizers(SimpleNamespace(lr=1e-3))
    real = torch.zeros(4, 2, 32, 25, 3)
    real[:, :, ::4, 12, SOUNDING] = real[:, :, ::4, 12, ONSET] = 1
    real[:, :, ::4, 12, VELOCITY] = 0.7
    stats = train_step(model, real, optimizers, 0)
    assert set(stats) >= {"critic_loss", "generator_loss", "gradient_penalty", "wasserstein"}
    assert all(np.isfinite(v) for v in stats.values())
    after = model.state_dict()
    for part in ("generator.", "critic.", "generator_ema."):
        changed = [k for k in before if k.startswith(part) and before[k].is_floating_point()
                   and not torch.equal(before[k], after[k])]
        assert changed, part


@pytest.mark.parametrize("learn", [True, False])
def test_bar_gates_start_on_the_first_step_and_learn_only_if_asked(learn):
    model = small_run(small({"gates.bar": True, "gates.learn_bar": learn})).model.train()
    optimizers = model.configure_optimizers(SimpleNamespace(lr=1e-3))
    real = torch.zeros(4, 2, 32, 25, 3)
    real[:, :, :16, 12, SOUNDING] = 1  # every track rests in its second bar
    gate = model.generator.bar_gate.weight.detach().clone()
    train_step(model, real, optimizers, 0)
    started = model.generator.bar_bias.detach().clone()
    train_step(model, real, optimizers, 1)
    assert bool((started != 0).all())  # set from the first batch: half the bars rest
    moved = not torch.equal(gate, model.generator.bar_gate.weight) or not torch.equal(started, model.generator.bar_bias)
    assert moved == learn


def test_gradient_penalty_hand_made():
    # linear critic <w, x> with |w| = 3: the gradient is w everywhere, so the penalty is (3 - 1)^2 = 4
    w = torch.tensor([1.0, 2.0, 2.0])
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    assert float(gradient_penalty(lambda x: x @ w, real, fake)) == pytest.approx(4.0)
    # critic |x|^2 / 2: the gradient is the mixed point itself; norms 5 (mix 1) and 2.5 (mix 0.5)
    real, fake = torch.tensor([[3.0, 4.0], [3.0, 4.0]]), torch.zeros(2, 2)
    penalty = gradient_penalty(lambda x: 0.5 * (x ** 2).sum(1), real, fake, mix=torch.tensor([[1.0], [0.5]]))
    assert float(penalty.detach()) == pytest.approx(((5 - 1) ** 2 + (2.5 - 1) ** 2) / 2)


class FixedRoll(torch.nn.Module):
    """A stand-in generator that always returns one hand-made roll (as probabilities)."""

    def __init__(self, roll: torch.Tensor, like: torch.nn.Module):
        super().__init__()
        self.roll, self.like = roll, like

    def latents(self, batch, generator=None, device="cpu"):
        return self.like.latents(batch, generator, device)

    def forward(self, z, condition=None, condition_track=None):
        return self.roll.expand(z["shared"].shape[0], *self.roll.shape)


def test_generated_roll_becomes_exact_notes():
    run = small_run()
    roll = torch.full((2, 32, 25, 3), 0.1)
    roll[..., VELOCITY] = 0
    roll[0, 0:8, 12, SOUNDING] = 0.9  # C4 held for half a bar, velocity 100
    roll[0, 0, 12, ONSET] = 0.9
    roll[0, 0:8, 12, VELOCITY] = 100 / 127
    roll[1, 0:8, 0, SOUNDING] = 0.9  # C3 struck at 0 and re-struck at 4 (velocities 50 then 80)
    roll[1, [0, 4], 0, ONSET] = 0.9
    roll[1, 0:4, 0, VELOCITY], roll[1, 4:8, 0, VELOCITY] = 50 / 127, 80 / 127
    run.model.generator_ema = FixedRoll(roll, run.model.generator)
    (piece,) = generate(run, Controls(bars=2, roll_sampling="threshold", seed=0))
    notes = [sorted((n.time // 120, n.end // 120, n.pitch, n.velocity) for n in t.notes) for t in piece.score.tracks]
    assert notes == [[(0, 8, 60, 100)], [(0, 4, 48, 50), (4, 8, 48, 80)]]
    assert [t.name for t in piece.score.tracks] == ["Melody", "Bass"]
    (noisy,) = generate(run, Controls(bars=2, roll_sampling="bernoulli", seed=0))
    assert noisy.note_count > 3  # the 0.1 cells now sound now and then
    (again,) = generate(run, Controls(bars=2, roll_sampling="bernoulli", seed=0))
    assert notes_of(again) == notes_of(noisy)  # the draws come from the seed
    assert parse_roll_sampling("threshold:0.3", 0.5) == ("threshold", 0.3)
    with pytest.raises(ControlError, match="roll-sampling"):
        parse_roll_sampling("loud", 0.5)


def test_conditioning_keeps_the_given_track():
    run = small_run()
    melody = melody_piece(bars=3)
    pieces = generate(run, Controls(num=2, primer=melody, condition_track="melody", seed=3))
    expected = sorted((n.time // 120, n.end // 120, n.pitch, n.velocity) for n in melody.score.tracks[0].notes)
    for piece in pieces:
        kept = sorted((n.time // 120, n.end // 120, n.pitch, n.velocity) for n in piece.score.tracks[0].notes)
        assert kept == expected
        assert piece.bars == 3  # as long as the melody: two 2-bar phrases, cut to 3 bars
    as_bass = generate(run, Controls(primer=melody, condition_track="Bass", seed=4))[0]
    assert sorted((n.time // 120, n.end // 120, n.pitch) for n in as_bass.score.tracks[1].notes) == [
        (start, end, pitch) for start, end, pitch, _ in expected]  # the melody, kept note for note in the bass
    with pytest.raises(ControlError, match="not a track of this model"):
        generate(run, Controls(primer=melody, condition_track="tuba"))
    with pytest.raises(ControlError, match="needs --primer"):
        generate(run, Controls(condition_track="melody"))
    with pytest.raises(ControlError, match="--top-k"):
        generate(run, Controls(top_k=5))


def test_long_pieces_chain_neighbouring_latents():
    run = small_run(small({"phrase_drift": 0.3}))
    z = chained_latents(run.model.generator, 4, 0.3, 1.0, torch.Generator().manual_seed(0), torch.device("cpu"))
    shared = z["shared"]
    assert shared.shape == (4, 8)
    near = torch.cosine_similarity(shared[0], shared[1], dim=0)
    far = torch.cosine_similarity(shared[0], run.model.generator.latents(1)["shared"][0], dim=0)
    assert float(near) > 0.8 and float(near) > float(far)
    (piece,) = generate(run, Controls(bars=5, roll_sampling="0.3", seed=5))
    assert piece.note_count > 0 and piece.bars == 5  # three 2-bar phrases cut to 5 bars


def test_dataset_phrases_and_transposition():
    rep = small_rep()
    pieces = [melody_piece(bars=6, name="Melody"), melody_piece(bars=6, name="Tuba")]
    free = small({"phrases.key_normalize": False, "phrases.transpose": 3})  # pieces stay in their keys, moved
    train = make_dataset(pieces, rep, free, seed=0, train=True, augment=True)
    valid = make_dataset(pieces, rep, free, seed=0, train=False)
    # a phrase starting on every bar but the last (the Tuba piece has no track of the model); none overlap in valid
    assert len(train) == 5 and len(valid) == 3
    plain = make_dataset(pieces, rep, small({"phrases.key_normalize": False}), 0, train=True, augment=True)
    x, y = train[1], plain[1]
    assert x.shape == (2, 32, 25, 3)
    assert float(x.sum()) == pytest.approx(float(y.sum()))  # same notes, maybe shifted in pitch
    assert torch.equal(valid[0], plain[0])


def d_major_piece(track: str = "Melody", bars: int = 2) -> Piece:
    """D major arpeggios and scale steps, on one track, clearly in D major."""
    score = symusic.Score(480)
    notes = symusic.Track(track, 0, False)
    for i, pitch in enumerate([62, 66, 69, 66, 62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62, 62][: 8 * bars]):
        notes.notes.append(symusic.Note(i * 240, 240, pitch, 80))
    score.tracks.append(notes)
    return Piece(score, name="in D")


def test_key_normalised_runs_learn_in_c_and_play_in_the_key_asked_for():
    rep = small_rep()
    phrases = make_dataset([d_major_piece(bars=2)], rep, SMALL, seed=0, train=True, augment=True)
    rows = np.nonzero(torch.stack([phrases[i] for i in range(len(phrases))])[..., SOUNDING].numpy())[-1]
    assert len(rows) and set((rows + rep.lowest) % 12) <= {0, 2, 4, 5, 7, 9, 11}  # moved from D to C major
    run = small_run()
    generator = run.model.generator_ema
    with torch.no_grad():  # make the (untrained) generator play a C major triad, from any latents
        generator.pitch_bias[:, SOUNDING] = -20.0
        generator.pitch_bias[:, SOUNDING, :, [0, 4, 7, 12, 16, 19, 24]] = 20.0  # C E G from C3 (48)
    for name in ("E major", "F# minor"):
        (piece,) = generate(run, Controls(bars=2, key=name, seed=1))
        asked = parse_key(name)
        assert piece.key in (asked, asked.relative)
        wanted = {(asked.tonic + k) % 12 for k in ((0, 4, 7) if asked.mode == "major" else (3, 7, 10))}
        assert {n.pitch % 12 for t in piece.score.tracks for n in t.notes} == wanted
    # a melody in D is accompanied in C where the model learnt, then moved back: the melody exactly as given
    melody = d_major_piece()
    (piece,) = generate(run, Controls(primer=melody, condition_track="Melody", seed=2))
    assert [(n.time, n.pitch) for n in piece.score.tracks[0].notes] == [(n.time, n.pitch) for n in melody.score.tracks[0].notes]
    assert {n.pitch % 12 for n in piece.score.tracks[1].notes} == {2, 6, 9}  # the triad, in D
    with pytest.raises(ControlError, match="primer's key is kept"):
        generate(run, Controls(primer=melody, key="E"))
    old = small_run(small({"phrases.key_normalize": False}))
    with pytest.raises(ControlError, match="--key needs a gan run trained with key_normalize"):
        generate(old, Controls(key="E"))


def test_train_and_sample_through_the_pipeline(tmp_path):
    from tunesmith.generation.run import load_run
    from tunesmith.training.trainer import train

    run_dir = tmp_path / "run"
    train("gan", "bach", run_dir, limit=12, progress=False,
          model_overrides=TINY,
          training_overrides={"max_steps": 2, "batch_size": 4, "snapshot_every": 2})
    assert (run_dir / "samples" / "step_0000002.png").exists()
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert '"gradient_penalty"' in lines[0] and '"generator_loss"' in lines[0]
    run = load_run(run_dir)
    assert get_family("gan") is FAMILY and run.representation.track_names == ["Soprano", "Alto", "Tenor", "Bass"]
    (piece,) = run.generate(Controls(bars=5, seed=1))
    assert [t.name for t in piece.score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert piece.note_count > 0 and piece.bars == 5


def test_generator_starts_at_each_tracks_velocity_and_the_critic_weighs_velocity():
    rep = small_rep()
    rep.tracks[0].velocity, rep.tracks[1].velocity = 100.0, 40.0
    run = small_run(rep=rep)
    probs = run.model.generator(run.model.generator.latents(16)).detach()
    means = probs[..., VELOCITY].mean((0, 2, 3)) * 127  # per track
    assert abs(float(means[0]) - 100) < 8 and abs(float(means[1]) - 40) < 8
    roll = torch.rand(2, 2, 32, 25, 3)
    seen = run.model.judge(roll)
    assert torch.equal(seen[..., :2], roll[..., :2])
    assert torch.allclose(seen[..., VELOCITY], roll[..., VELOCITY] * run.model.config.critic.velocity_weight)
