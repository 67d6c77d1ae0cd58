"""What the studio's Evaluate page does: pieces generated from a model now, or uploaded, measured against a
bundled corpus (tunesmith.evaluation), the report written into a results folder and zipped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunesmith.controls.controls import Controls
from tunesmith.data import BUNDLED, Rejected, load_corpus
from tunesmith.errors import TunesmithError
from tunesmith.evaluation.evaluate import evaluate_sets, verdict
from tunesmith.evaluation.report import write_report
from tunesmith.studio.making import Maker
from tunesmith.studio.work import model_named, new_folder, read_uploads, take_uploads, zip_files


@dataclass
class Assessment:
    """The Evaluate page's results: the summary, the report's text and figures, copies, and the zip."""

    summary: str
    report: str
    figures: list[Path]
    copies: list[str]
    rejected: list[str]
    zip: Path


def _page_markdown(markdown: str) -> str:
    """The report's Markdown without its image lines (the page shows the figures beside it)."""
    return "\n".join(line for line in markdown.splitlines() if not line.lstrip().startswith("!["))


def assess(maker: Maker, reference: str, *, model_name: str | None = None, uploads: list[str] | None = None,
           num: int = 20, bars: int = 8, seed: int = 0) -> Assessment:
    """Measure a set against the bundled corpus `reference`: `num` pieces of `bars` from `model_name`, or the
    uploaded files (those that cannot be read are listed with their reasons)."""
    settings = maker.settings
    if reference not in BUNDLED:
        raise TunesmithError(f"unknown reference {reference!r} (choose from: {', '.join(BUNDLED)})")
    rejected: list[Rejected] = []
    if uploads:
        pieces, rejected = read_uploads(take_uploads(uploads, settings, allow_zip=True))
        label, source = "uploaded", "uploaded files"
    elif model_name:
        if not 2 <= int(num) <= settings.evaluate_pieces:
            raise TunesmithError(f"evaluate 2 to {settings.evaluate_pieces} pieces here (asked {num})")
        if not 1 <= int(bars) <= settings.max_bars:
            raise TunesmithError(f"a piece has 1 to {settings.max_bars} bars here (asked {bars})")
        model = model_named(settings, model_name)
        pieces = maker.generate(model, Controls(num=int(num), bars=int(bars), seed=int(seed)))
        label, source = model.name.replace("/", "-"), f"run {model.name}"
    else:
        raise TunesmithError("choose a model to generate from, or upload the pieces to measure")
    corpus = load_corpus(reference, progress=False)
    evaluation = evaluate_sets({label: (source, pieces)}, corpus.pieces, reference_label=reference,
                               rejected={label: rejected})
    folder = new_folder(settings, "reports")
    written = write_report(evaluation, folder)
    figures = sorted((folder / "figures").glob("*.png"))
    measured = evaluation.sets[0]
    ceiling = evaluation.ceiling
    summary = (f"**{label}**: {len(measured.pieces)} pieces against {reference}: mean overlap "
               f"{measured.mean_overlap:.3f} ({verdict(measured.mean_overlap, ceiling)})"
               + (f"; {reference} against itself {ceiling.mean_overlap:.3f}" if ceiling else "")
               + f"; {len(measured.copies)} copies of {evaluation.copy_bars}+ bars")
    report_files = [p for p in folder.rglob("*") if p.is_file()]
    bundle = zip_files(report_files, folder / "report.zip", root=folder)
    return Assessment(summary, _page_markdown(Path(written["markdown"]).read_text(encoding="utf-8")), figures,
                      [f"{o.name}: {o.describe()}" for o in measured.copies],
                      [f"{Path(r.source).name}: {r.reason}" for r in rejected], bundle)

