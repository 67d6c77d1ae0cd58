"""`tunesmith demo`: the whole path on the bundled Bach chorales: corpus, training, generation, audio, images."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import Device, console


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="where the run and the pieces go"),
    minutes: float = typer.Option(4.5, help="training time limit (minutes)"),
    num: int = typer.Option(4, "--num", "-n", help="how many pieces to generate"),
    bars: int = typer.Option(16, "--bars", "-b", help="bars per piece"),
    seed: int = typer.Option(0, help="random seed"),
    temperature: float = typer.Option(0.7, help="sampling temperature (lower keeps closer to the key)"),
    retrain: bool = typer.Option(False, "--retrain", help="train again even if out/run already holds a model"),
    device: Device = "cpu",
    threads: int = typer.Option(1, help="CPU threads for torch (one is fastest for this small model on a busy CPU)"),
    zoo: bool = typer.Option(True, "--zoo/--no-zoo", help="first, pieces from the shipped models (seconds)"),
) -> None:
    """Hear the shipped models at once, then train a small RNN on Bach chorales for a few minutes and write 4
    pieces as MIDI, WAV, PNG and a score."""
    import shutil

    import torch

    torch.set_num_threads(threads)
    from tunesmith.controls.controls import Controls
    from tunesmith.data import load_corpus
    from tunesmith.generation.run import load_run
    from tunesmith.outputs import write_piece_files
    from tunesmith.runs.files import MODEL_FILE
    from tunesmith.training.trainer import train

    if zoo:
        _from_the_zoo(out / "zoo", seed)
    run_dir = out / "run"
    console.print("[bold]1/3[/bold] the Bach chorales (music21's corpus, shipped converted to MIDI)")
    corpus = load_corpus("bach")
    console.print(f"    {len(corpus.pieces)} chorales")
    if retrain or not (run_dir / MODEL_FILE).exists():
        if run_dir.exists():
            shutil.rmtree(run_dir)
        console.print(f"[bold]2/3[/bold] training the small RNN for at most {minutes:g} minutes")
        result = train("rnn", "bach", run_dir, training_overrides={"max_minutes": minutes, "epochs": 200, "seed": seed,
                                                             "warmup_steps": 30, "lr": 3e-3},
                       # conditioning and infilling tokens, so every control and preset works on the demo's run
                       representation_overrides={"conditioning": ["style", "key", "time_signature", "tempo",
                                                                  "density", "instruments"], "infill": True},
                       device=device)
        console.print(f"    {result.steps} steps; validation NLL {result.best_valid:.3f} nats per token")
    else:
        console.print(f"[bold]2/3[/bold] reusing the model trained before in {run_dir} (--retrain to train again)")
    console.print(f"[bold]3/3[/bold] generating {num} pieces of {bars} bars")
    run = load_run(run_dir, device=device)
    pieces = run.generate(Controls(num=num, bars=bars, seed=seed, temperature=temperature))
    for i, piece in enumerate(pieces, 1):
        piece.name = f"demo-{i:02d}"
        files = write_piece_files(piece, out, piece.name, wav=True, png=True, musicxml=True, svg=True)
        s = piece.summary()
        console.print(f"    {files['mid'].name} / .wav / .png / .musicxml / .svg: {s['bars']} bars, {s['notes']} notes, "
                      f"key {s['key']}, range {s['pitch_range']}")
    console.print(f"Results in {out.resolve()}: listen to the .wav files, look at the .png piano-rolls, read the .svg "
                  "scores (a browser shows them; the .musicxml opens in notation software).")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


def _from_the_zoo(out: Path, seed: int) -> None:
    """Pieces from the shipped models (the zoo: `tunesmith models`), before any training: a chorale, a folk
    tune, that tune harmonised in four voices by the chorale GAN, and the VAE's walk from it to a second tune.
    A model that is not installed is left out, with what depends on it."""
    from tunesmith.controls.controls import Controls
    from tunesmith.generation.run import load_run
    from tunesmith.outputs import write_piece_files
    from tunesmith.piece import Piece
    from tunesmith.runs.zoo import zoo_model

    def here(name: str) -> bool:
        return zoo_model(name) is not None

    def play(piece: Piece, name: str, what: str) -> None:
        piece.name = name
        files = write_piece_files(piece, out, name, wav=True, png=True, musicxml=True, svg=True)
        console.print(f"    {files['wav']}: {what} ({', '.join(t.name for t in piece.score.tracks)})")

    def tune(name: str, key: str, offset: int = 0) -> Piece:  # in 4/4, the metre the GAN and the VAE write
        return load_run(name).generate(Controls(num=1, seed=seed + offset, key=key, bars=8, time_signature="4/4"))[0]

    if not any(map(here, ("bach-transformer", "folk-transformer"))):
        return
    console.print("[bold]first[/bold] from the trained models that ship with tunesmith (`tunesmith models`)")
    if here("bach-transformer"):
        play(tune("bach-transformer", "D major"), "bach-transformer-01", "a chorale in D major")
    if not here("folk-transformer"):
        return
    folk = tune("folk-transformer", "G major")
    play(folk, "folk-transformer-01", "a folk tune in G major")
    if here("bach-gan"):
        harmonised = load_run("bach-gan").generate(Controls(num=1, seed=seed, primer=folk, condition_track="Soprano"))
        play(harmonised[0], "bach-gan-01", "the folk tune as the soprano of a four-voice harmonisation")
    if here("folk-vae-2bar"):
        from tunesmith.generation.latent import interpolate

        second = tune("folk-transformer", "D major", offset=1)
        _, walk = interpolate(load_run("folk-vae-2bar"), folk, second, 7, None, None, seed)
        play(walk, "folk-vae-2bar-walk", "7 steps from the folk tune's opening to a second tune's")
