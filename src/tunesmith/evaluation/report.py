"""The evaluation report: report.md and report.html (same content), figures and piano-rolls beside them.

The first screen answers the two questions: is each generated set close to the reference, and did
anything copy the training set; then the files that could not be measured, if any. Tables and figures for
every feature follow, and the unreadable files, each with its reason, close the report.
"""

from __future__ import annotations

import html
import logging
import math
import re
from pathlib import Path

import numpy as np

from tunesmith.evaluation.compare import FeatureComparison
from tunesmith.evaluation.evaluate import Evaluation, SetEvaluation, reason_for, verdict
from tunesmith.evaluation.features import FEATURES, SCALAR_FEATURES
from tunesmith.evaluation.originality import Originality
from tunesmith.evaluation.plots import distances_figure, histograms_figure, overview_figure
from tunesmith.fileio import write_bytes_atomic, write_json_atomic
from tunesmith.progress import progress_bar

log = logging.getLogger(__name__)

MAX_ORIGINALITY_ROWS = 25


class Document:
    """Headings, paragraphs, tables and images, written out as Markdown or as HTML."""

    def __init__(self) -> None:
        self.blocks: list[tuple] = []

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(("heading", level, text))

    def para(self, text: str) -> None:
        self.blocks.append(("para", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("bullets", items))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", header, rows))

    def image(self, path: str, alt: str) -> None:
        self.blocks.append(("image", path, alt))

    def markdown(self) -> str:
        """The document as GitHub-flavoured Markdown."""
        out = []
        for kind, *args in self.blocks:
            if kind == "heading":
                out.append("#" * args[0] + " " + args[1])
            elif kind == "para":
                out.append(args[0])
            elif kind == "bullets":
                out.append("\n".join(f"- {item}" for item in args[0]))
            elif kind == "table":
                header, rows = args
                lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
                out.append("\n".join(lines))
            elif kind == "image":
                out.append(f"![{args[1]}]({args[0]})")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        """The document as one self-contained HTML page (images by relative path)."""
        body = []
        for kind, *args in self.blocks:
            if kind == "heading":
                body.append(f"<h{args[0]}>{_inline(args[1])}</h{args[0]}>")
            elif kind == "para":
                body.append(f"<p>{_inline(args[0])}</p>")
            elif kind == "bullets":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in args[0]) + "</ul>")
            elif kind == "table":
                header, rows = args
                head = "".join(f"<th>{_inline(h)}</th>" for h in header)
                cells = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
            elif kind == "image":
                body.append(f'<p><img src="{html.escape(args[0])}" alt="{html.escape(args[1])}"></p>')
        return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#1d2127}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #d0d5dc;padding:.3em .6em;"
        "text-align:left;font-size:.92em}th{background:#f1f3f6}img{max-width:100%}"
        "h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #d0d5dc}")


def _inline(text: str) -> str:
    """HTML-escape, then **bold** and `code` as in the Markdown."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _num(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def _mean_spread(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return f"{values.mean():.3g} ± {values.std():.2g}" if len(values) else "n/a"


def slug(text: str) -> str:
    """A file-name-safe form of a set label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "set"


def _longest(s: SetEvaluation) -> Originality | None:
    return max(s.originality, key=lambda o: o.longest_run, default=None)


def _copy_sentence(s: SetEvaluation, evaluation: Evaluation) -> str:
    copies, longest = s.copies, _longest(s)
    if not copies:
        run = longest.longest_run if longest else 0
        return (f"**No piece copies** the training set (longest run of bars shared with a training piece: {run}; "
                f"a copy is {evaluation.copy_bars} or more).")
    names = ", ".join(o.name for o in copies[:8]) + (f" and {len(copies) - 8} more" if len(copies) > 8 else "")
    return (f"**{len(copies)} of {len(s.pieces)} pieces copy** the training set ({evaluation.copy_bars}+ bars "
            f"verbatim, up to transposition): {names}.")


def _first_screen(doc: Document, evaluation: Evaluation) -> None:
    ceiling = evaluation.ceiling
    top = f" (the reference against itself, split in halves: {ceiling.mean_overlap:.2f})" if ceiling else ""
    for s in evaluation.sets:
        doc.para(f"**{s.label}** ({len(s.pieces)} pieces): **{verdict(s.mean_overlap, ceiling)}** to "
                 f"{evaluation.reference_label}, mean overlap {_num(s.mean_overlap, 2)}{top}. "
                 + _copy_sentence(s, evaluation))
    rows = []
    for s in evaluation.sets:
        longest = _longest(s)
        ranked = sorted((c for c in s.comparison.values() if not c.trivial),
                        key=lambda c: math.inf if math.isnan(c.overlap) else c.overlap)
        far = ", ".join(_label(c.feature) for c in ranked[:3] if not math.isnan(c.overlap))
        rows.append([s.label, str(len(s.pieces)), _num(s.mean_overlap, 2), verdict(s.mean_overlap, ceiling),
                     f"{len(s.copies)}", longest.describe() if longest else "-", far or "-"])
    doc.table(["set", "pieces", "mean overlap", "verdict", "copies", "longest shared run", "farthest features"],
              rows)
    unread = _unread_counts(evaluation)
    if unread:
        doc.para("**Not measured**: " + "; ".join(f"{count} file{'s' if count > 1 else ''} of {label}"
                                                   for label, count in unread.items())
                 + " could not be read (the list and the reasons are at the end of the report).")
    doc.image("figures/overview.png", "overlap per feature")


def _unread_counts(evaluation: Evaluation) -> dict[str, int]:
    """How many files of each set (the reference's among them) could not be read, in the report's order."""
    counts: dict[str, int] = {}
    for label, _ in evaluation.rejected:
        counts[label] = counts.get(label, 0) + 1
    return counts


def _not_measured(doc: Document, evaluation: Evaluation) -> None:
    """The files that could not be read, each with its reason (as `tunesmith corpus stats` lists them)."""
    if not evaluation.rejected:
        return
    doc.heading(2, "Files that could not be measured")
    doc.para(f"{len(evaluation.rejected)} files could not be read as music: they are left out of every figure "
             f"above.")
    doc.table(["set", "file", "reason"], [[label, f"`{file}`", reason_for(file, reason)]
                                          for label, (file, reason) in evaluation.rejected])


def _overlap_cell(c: FeatureComparison) -> str:
    cell = f"{_num(c.overlap, 2)} / {_num(c.kl, 2)}"
    return cell + " (same everywhere)" if c.trivial else cell


def _label(name: str) -> str:
    return next(f.label for f in FEATURES if f.name == name)


def _feature_tables(doc: Document, evaluation: Evaluation) -> None:
    doc.heading(2, "Features: generated vs reference (mean ± spread)")
    header = ["feature", f"{evaluation.reference_label} (reference)"] + [s.label for s in evaluation.sets]
    rows = [[f.label + (f" ({f.unit})" if f.unit else ""), _mean_spread(evaluation.reference_features[f.name])]
            + [_mean_spread(s.features[f.name]) for s in evaluation.sets] for f in SCALAR_FEATURES]
    doc.table(header, rows)
    doc.heading(2, "Set comparison (MGEval): overlap and KL divergence")
    doc.para("For each feature: the distances between reference pieces (intra-set) against the distances from "
             "generated to reference pieces (inter-set), both smoothed with a Gaussian kernel density estimate. "
             "**Overlap** is the area the two densities share (1 = indistinguishable); **KL** is KL(intra || inter) "
             "in nats (0 = the same). Yang & Lerch, Neural Computing and Applications, 2020. Features where every "
             "piece has the same value (marked *same everywhere*) are left out of the mean overlap.")
    header = ["feature"] + ([f"{evaluation.reference_label} halves: overlap / KL"] if evaluation.ceiling else [])
    header += [f"{s.label}: overlap / KL" for s in evaluation.sets]
    rows = []
    for f in FEATURES:
        row = [f.label]
        if evaluation.ceiling:
            row.append(_overlap_cell(evaluation.ceiling.comparison[f.name]))
        row += [_overlap_cell(s.comparison[f.name]) for s in evaluation.sets]
        rows.append(row)
    doc.table(header, rows)


def _originality(doc: Document, evaluation: Evaluation) -> None:
    doc.heading(2, "Originality")
    doc.para(f"Bars are compared as (pitch, onset, duration) on a 12-per-quarter grid, all voices together, up "
             f"to transposition, against the {evaluation.training_pieces} pieces of {evaluation.training_label}. "
             f"A piece **copies** when it shares {evaluation.copy_bars} or more consecutive bars with one "
             f"training piece. The copied share is the share of its 4-bar segments found verbatim.")
    for s in evaluation.sets:
        ranked = sorted(s.originality, key=lambda o: (-o.copies, -o.longest_run, o.name))
        shown = [o for o in ranked if o.copies] or ranked
        shown = shown[:max(MAX_ORIGINALITY_ROWS, len([o for o in ranked if o.copies]))]
        doc.heading(3, f"{s.label}: {len(s.copies)} of {len(s.pieces)} pieces copy")
        doc.table(["piece", "bars", "longest shared run", "copied 4-bar share", "copies"],
                  [[o.name, str(o.bars), o.describe(), _num(o.copied_share, 2), "**yes**" if o.copies else "no"]
                   for o in shown])
        if len(shown) < len(ranked):
            doc.para(f"({len(ranked) - len(shown)} more pieces share less; all are in the JSON.)")


def _rolls(doc: Document, evaluation: Evaluation, out_dir: Path) -> None:
    from tunesmith.outputs.pianoroll_image import save_pianoroll_png

    doc.heading(2, "Most and least reference-like pieces")
    doc.para("Typicality: the mean, over the features, of how many reference spreads a piece lies from the "
             "reference mean (lower is more typical). The most typical piece is chosen among those that do not copy.")
    for s in evaluation.sets:
        for which, index in (("best", s.best), ("worst", s.worst)):
            if index is None:
                continue
            piece = s.pieces[index]
            word = "most" if which == "best" else "least"
            title = f"{s.label}: {word} reference-like: {piece.name} (typicality {s.typicality[index]:.2f})"
            rel = f"rolls/{slug(s.label)}-{which}.png"
            save_pianoroll_png(piece, out_dir / rel, title=title)
            doc.image(rel, title)


def write_report(evaluation: Evaluation, out_dir: str | Path, *, progress: bool = False) -> dict[str, Path]:
    """Write report.md, report.html, evaluation.json, figures/*.png and rolls/*.png into `out_dir`."""
    out_dir = Path(out_dir)
    labels = ", ".join(s.label for s in evaluation.sets)
    title = f"Evaluation of {labels} against {evaluation.reference_label}"
    doc = Document()
    doc.heading(1, title)
    with progress_bar(4, "writing the report", enabled=progress, unit="figures") as bar:
        overview_figure(evaluation, list(FEATURES), out_dir / "figures" / "overview.png")
        bar.advance()
        _first_screen(doc, evaluation)
        _feature_tables(doc, evaluation)
        doc.heading(2, "Histograms")
        doc.para("Each feature's values: the reference filled grey, each generated set outlined (share of pieces "
                 "per bin; for the two histogram features, their mean profile).")
        histograms_figure(evaluation, list(FEATURES), out_dir / "figures" / "histograms.png")
        doc.image("figures/histograms.png", "feature histograms")
        bar.advance()
        doc.para("The MGEval distance densities behind the overlap table: reference to reference (grey) and each "
                 "generated set to the reference (lines).")
        distances_figure(evaluation, list(FEATURES), out_dir / "figures" / "distances.png")
        doc.image("figures/distances.png", "distance densities")
        bar.advance()
        _originality(doc, evaluation)
        _rolls(doc, evaluation, out_dir)
        _not_measured(doc, evaluation)
        bar.advance()
    written = {
        "markdown": write_bytes_atomic(out_dir / "report.md", doc.markdown().encode()),
        "html": write_bytes_atomic(out_dir / "report.html", doc.html(title).encode()),
        "json": write_json_atomic(out_dir / "evaluation.json", evaluation.to_dict()),
    }
    log.info("wrote the report to %s", out_dir)
    return written
