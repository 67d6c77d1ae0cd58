"""What the studio's Compose, Harmonise and Blend pages do, without the page: load a model (a few kept in memory),
turn the page's values into Controls, generate, and write each piece's files (MIDI, WAV, piano-roll, MusicXML
and its engraved SVG, all in one zip) with a summary of what was asked and what came out."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.controls.controls import Controls, parse_attributes
from tunesmith.errors import TunesmithError
from tunesmith.generation.presets import honoured_part, load_preset, preset_controls
from tunesmith.piece import Piece
from tunesmith.runs import read_config
from tunesmith.studio.settings import StudioSettings
from tunesmith.studio.work import Model, model_named, new_folder, read_upload, take_uploads, zip_files

if TYPE_CHECKING:
    from tunesmith.generation.run import Run

# the studio's page is served before the models' side (torch, the tokenizers, the writers) is imported: `warm`
# imports it in the background once the page is up, so the first request does not wait for it either
HEAVY_MODULES = ("tunesmith.generation.run", "tunesmith.generation.latent", "tunesmith.outputs", "tunesmith.data")

TEXT_CONTROLS = ("key", "time_signature", "instruments", "density", "pitch_range", "velocity", "dynamics", "infill",
                 "style", "condition_track", "roll_sampling")
SWITCHES = ("scale_lock", "end_on_tonic", "loopable", "monophonic", "simple_rhythm", "harmonise")
UNSET_AT_ZERO = ("seconds", "top_k", "top_p", "tempo", "variation")
EXAMPLES = 12  # folk tunes offered as examples
VARY_SPREAD = 0.5  # how far a VAE's "vary this one" samples from the piece's latent


@dataclass
class PieceView:
    """One piece as the page shows it: its files, its engraved score and its summary."""

    name: str
    files: dict[str, Path]
    svg: str
    summary: str
    zip: Path
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def midi(self) -> Path:
        return self.files["mid"]


def asked_controls(values: dict[str, Any]) -> dict[str, Any]:
    """The page's values as Controls fields: an empty text, an unticked box or an empty number is "not
    given" (None), so a preset's value stands; attributes are parsed from their text."""
    asked: dict[str, Any] = {}
    for name, value in values.items():
        if name in TEXT_CONTROLS:
            value = str(value).strip() if value is not None and str(value).strip() else None
        elif name in SWITCHES:
            value = True if value else None
        elif isinstance(value, float) and math.isnan(value):
            value = None
        elif name in UNSET_AT_ZERO and value == 0:  # a browser's empty number field sends 0
            value = None
        asked[name] = value
    if "attributes" in asked:
        asked["attributes"] = parse_attributes(asked["attributes"]) or None
    for name in ("top_k", "attempts"):
        if asked.get(name) is not None:
            asked[name] = int(asked[name])
    return asked


def summary_text(piece: Piece) -> str:
    """Markdown: the piece's facts in one line, then each control asked, what was measured, and whether it is met."""
    facts = piece.summary()
    lines = [f"**{facts['bars']} bars**, {facts['notes']} notes, key {facts['key']}, {facts['time_signature']}, "
             f"{facts['tempo']:g} bpm, range {facts['pitch_range']}, {facts['tracks']} tracks, {facts['seconds']:.1f} s"]
    checks = piece.tags.get("checks", {})
    if checks:
        lines += ["", "| control | asked | measured | met |", "|---|---|---|---|"]
        lines += [f"| {name} | {check['asked']} | {check['measured']} | {'yes' if check['ok'] else 'no'} |"
                  for name, check in checks.items()]
    if piece.tags.get("attempts", 1) > 1:
        lines.append(f"\n({piece.tags['attempts']} draws)")
    return "\n".join(lines)


def view_piece(piece: Piece, folder: Path, stem: str) -> PieceView:
    """Write the piece's files into `folder` and zip them."""
    from tunesmith.outputs import write_piece_files

    files = write_piece_files(piece, folder, stem, wav=True, png=True, musicxml=True, svg=True)
    bundle = zip_files(list(files.values()), folder / f"{stem}.zip")
    return PieceView(piece.name, files, files["svg"].read_text(encoding="utf-8"), summary_text(piece), bundle,
                     dict(piece.tags))


class Maker:
    """The studio's generating side: models loaded on first use (the least recently used of more than
    `settings.loaded_runs` let go), pieces written under the studio's results folder."""

    def __init__(self, settings: StudioSettings) -> None:
        self.settings = settings
        self._runs: OrderedDict[Path, Run] = OrderedDict()
        self._lock = threading.Lock()
        self._using: dict[Path, threading.Lock] = {}  # one request at a time per model: a run's decoding state is its own
        self._examples: dict[str, Piece] | None = None
        self._examples_lock = threading.Lock()

    def warm(self, modules: tuple[str, ...] = HEAVY_MODULES) -> threading.Thread:
        """Import `modules` (the models' side) in a background thread (started here, returned)."""
        import importlib

        def load() -> None:
            for name in modules:
                importlib.import_module(name)

        thread = threading.Thread(target=load, name="studio-warm", daemon=True)
        thread.start()
        return thread

    def examples(self) -> dict[str, Piece]:
        """A few bundled folk tunes to harmonise or blend without uploading (read once)."""
        with self._examples_lock:
            if self._examples is None:
                from tunesmith.data import load_corpus

                corpus = load_corpus("folk", limit=EXAMPLES, progress=False)
                self._examples = {p.name: p for p in corpus.pieces}
            return self._examples

    def chosen_piece(self, upload: str | None, example: str | None, what: str) -> Piece:
        """The uploaded file (read safely) or else the folk tune picked by name."""
        if upload:
            return read_upload(take_uploads(upload, self.settings)[0])
        if example:
            found = self.examples().get(example)
            if found is None:
                raise TunesmithError(f"no example tune named {example!r}")
            return found
        raise TunesmithError(f"upload the {what} or pick one of the folk tunes")

    def run(self, model: Model) -> Run:
        """The loaded run of `model` (kept for the next request)."""
        with self._lock:
            if model.path in self._runs:
                self._runs.move_to_end(model.path)
                return self._runs[model.path]
        from tunesmith.generation.run import load_run

        run = load_run(model.path)
        with self._lock:
            self._runs[model.path] = run
            while len(self._runs) > self.settings.loaded_runs:
                self._runs.popitem(last=False)
        return run

    def generate(self, model: Model, controls: Controls) -> list[Piece]:
        """Pieces from `model` under `controls`; two requests for one model take turns."""
        run = self.run(model)
        with self._turn(model):
            return run.generate(controls)

    def _turn(self, model: Model) -> threading.Lock:
        """The lock a request holds while it uses `model`."""
        with self._lock:
            return self._using.setdefault(model.path, threading.Lock())

    def _bounded(self, asked: dict[str, Any]) -> None:
        num, bars = asked.get("num") or 1, asked.get("bars")
        if not 1 <= int(num) <= self.settings.max_pieces:
            raise TunesmithError(f"the studio makes 1 to {self.settings.max_pieces} pieces at a time (asked {num})")
        if bars is not None and not 1 <= int(bars) <= self.settings.max_bars:
            raise TunesmithError(f"a piece has 1 to {self.settings.max_bars} bars here (asked {bars})")

    def compose(self, model_name: str, preset: str | None, values: dict[str, Any],
                primer: str | None = None) -> tuple[list[PieceView], list[str]]:
        """Pieces from `model_name` under the page's values (over the preset's), continuing the uploaded
        `primer` if any; and the lines saying which preset controls the model left out."""
        model = model_named(self.settings, model_name)
        asked = asked_controls(values)
        self._bounded(asked)
        if primer:
            asked["primer"] = read_upload(take_uploads(primer, self.settings)[0])
        run = self.run(model)
        chosen, notes = (honoured_part(load_preset(preset), run.family) if preset else (None, []))
        controls = preset_controls(chosen, {k: v for k, v in asked.items() if k != "num"}, num=int(asked.get("num") or 1))
        return self._views(self.generate(model, controls), model), notes

    def vary(self, model_name: str, preset: str | None, values: dict[str, Any], piece_midi: str | Path,
             primer: str | None = None) -> list[PieceView]:
        """One piece near a piece already made: a VAE samples near its latent; the other families draw again
        with the same primer and a new seed."""
        model = model_named(self.settings, model_name)
        values = {**values, "num": 1, "seed": int(values.get("seed") or 0) + 7919}
        if model.family == "vae":
            path = Path(piece_midi).resolve()
            if self.settings.work.resolve() not in path.parents:
                raise TunesmithError("only a piece the studio made can be varied")
            values.update(variation=VARY_SPREAD)
            controls = preset_controls(None, {**asked_controls(values), "primer": Piece.load(path)}, num=1)
            return self._views(self.generate(model, controls), model)
        return self.compose(model_name, preset, values, primer)[0]

    def harmonise(self, model_name: str, melody: Piece, track: str | None, seed: int = 0,
                  bars: int | None = None) -> list[PieceView]:
        """A GAN's voices written around `melody`, given as its `track` (default: the model's first)."""
        model = model_named(self.settings, model_name, family="gan")
        tracks = gan_tracks(model)
        if track and track not in tracks:
            raise TunesmithError(f"{model.name} has no track {track!r} (its tracks: {', '.join(tracks)})")
        controls = Controls(num=1, seed=int(seed), primer=melody, condition_track=track or tracks[0],
                            bars=int(bars) if bars else None)
        return self._views(self.generate(model, controls), model)

    def blend(self, model_name: str, first: Piece, second: Piece, steps: int, attributes: dict[str, float],
              temperature: float | None, seed: int) -> tuple[list[PieceView], PieceView]:
        """A VAE's interpolation from `first` to `second`: one view per step, and all steps in one."""
        model = model_named(self.settings, model_name, family="vae")
        if not 2 <= int(steps) <= self.settings.blend_steps:
            raise TunesmithError(f"a blend has 2 to {self.settings.blend_steps} steps (asked {steps})")
        from tunesmith.generation.latent import interpolate

        run = self.run(model)
        with self._turn(model):
            pieces, joined = interpolate(run, first, second, int(steps), attributes, temperature, int(seed))
        folder = new_folder(self.settings, "results")
        views = [view_piece(p, folder, f"{i + 1:02d}-{p.name}") for i, p in enumerate(pieces)]
        return views, view_piece(joined, folder, "all-steps")

    def _views(self, pieces: list[Piece], model: Model) -> list[PieceView]:
        folder = new_folder(self.settings, "results")
        return [view_piece(p, folder, f"{model.name.replace('/', '-')}-{i + 1}") for i, p in enumerate(pieces)]


def gan_tracks(model: Model) -> list[str]:
    """The track names a GAN run writes (its representation's), the first the melody it accompanies by default."""
    tracks = (read_config(model.path).get("representation") or {}).get("tracks") or []
    return [str(t["name"]) for t in tracks if isinstance(t, dict) and "name" in t] or ["melody"]


def vae_attributes(model: Model) -> dict[str, str]:
    """The attributes a VAE model can move along (name -> description)."""
    from tunesmith.generation.latent import known_attributes

    return known_attributes(model.path) if model.family == "vae" else {}
