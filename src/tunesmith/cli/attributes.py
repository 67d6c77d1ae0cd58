"""`tunesmith attributes RUN_DIR --corpus SOURCE`: a VAE's attribute vectors (latent directions)."""

from __future__ import annotations

import typer

from tunesmith.cli.common import Device, VaeRunDir, console, load_vae_run
from tunesmith.errors import TunesmithError

SPLITS = ("all", "train", "valid", "test")


def attributes_command(
    run_dir: VaeRunDir,
    corpus: str = typer.Option(..., "--corpus", "-c", help="bundled corpus (bach, folk) or a folder of files"),
    split: str = typer.Option("train", help="which pieces of the corpus: train (as the model was trained), valid, test or all"),
    limit: int = typer.Option(None, help="read only the first N files of the corpus"),
    max_segments: int = typer.Option(20000, help="encode at most this many segments (drawn at random)"),
    seed: int = typer.Option(0, help="which segments are drawn"),
    device: Device = "cpu",
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show progress bars"),
) -> None:
    """Compute latent directions for note density, pitch, pitch range, syncopation and velocity;
    `generate`, `reconstruct` and `interpolate` then take --attribute NAME=AMOUNT."""
    from tunesmith.data import load_corpus, split_pieces
    from tunesmith.generation.latent import attribute_vectors
    from tunesmith.runs.zoo import resolve_run

    if split not in SPLITS:
        raise TunesmithError(f"--split must be one of {', '.join(SPLITS)} (got {split!r})")
    if (path := resolve_run(run_dir)) != run_dir:  # a zoo name: the vectors are saved in the run, package data
        raise TunesmithError(f"{run_dir} is a zoo model, which is not written to: copy its folder ({path}) and "
                             "compute the attributes of the copy")
    run = load_vae_run(run_dir, device, "attributes")
    pieces = load_corpus(corpus, limit=limit, progress=progress).pieces
    if split != "all":
        pieces = split_pieces(pieces)[split]
    vectors, path = attribute_vectors(run, pieces, source=corpus, max_segments=max_segments, seed=seed,
                                      progress=progress)
    console.print(f"{path}: from {vectors['segments']} segments of {corpus}")
    for name, entry in vectors["attributes"].items():
        if entry["vector"] is None:
            console.print(f"  {name:12s} does not vary in these segments: no vector")
            continue
        norm = sum(x * x for x in entry["vector"]) ** 0.5
        console.print(f"  {name:12s} bottom quarter {entry['low']:7.2f}  top quarter {entry['high']:7.2f}  "
                      f"vector length {norm:.2f}   ({entry['description']})", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("attributes")(attributes_command)
