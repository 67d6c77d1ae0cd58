"""The Train page (a corpus, bundled or uploaded, checked before training; a family, its settings and a time
limit; live progress and Stop, one job at a time) and the Evaluate page (a set measured against a corpus)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from tunesmith.data import BUNDLED, load_corpus
from tunesmith.errors import TunesmithError
from tunesmith.generation.control_table import families
from tunesmith.runs.zoo import shipped_folder
from tunesmith.studio.jobs import Job, TrainingQueue
from tunesmith.studio.making import Maker
from tunesmith.studio.page_tools import MUSIC_TYPES
from tunesmith.studio.shared import model_choices, shown
from tunesmith.studio.work import new_folder, safe_name, take_uploads

DEFAULTS = "defaults"
CONFIG_MB = 1  # an uploaded settings file at most
SHOWN_REJECTED = 50


def shipped_configs() -> list[str]:
    """The names of the settings files that ship in configs/ (not the presets)."""
    return sorted(p.stem for p in (shipped_folder("configs")).glob("*.toml"))


def _config_path(name: str | None, upload: str | None, maker: Maker) -> Path | None:
    """The settings file: an uploaded one (copied in, at most CONFIG_MB), a shipped one by name, or None."""
    if upload:
        source = Path(upload)
        if source.suffix.lower() not in (".toml", ".json") or source.stat().st_size > CONFIG_MB * 1024 * 1024:
            raise TunesmithError(f"a settings file is a .toml or .json of at most {CONFIG_MB} MB")
        target = new_folder(maker.settings, "uploads") / safe_name(source.name, "settings.toml")
        shutil.copyfile(source, target)
        return target
    if not name or name == DEFAULTS:
        return None
    if name not in shipped_configs():
        raise TunesmithError(f"no settings named {name!r} (choose from: {', '.join(shipped_configs())})")
    return shipped_folder("configs") / f"{name}.toml"


def _corpus(choice: str, uploads: list[str] | None, maker: Maker) -> tuple[str, str]:
    """(the corpus to train on: a bundled name or the folder the uploads were copied into, its report)."""
    if choice in BUNDLED:
        source = choice
    else:
        source = str(take_uploads(uploads, maker.settings, allow_zip=True)[0].parent)
    corpus = load_corpus(source, progress=False)
    lines = [f"**{len(corpus.pieces)} pieces** read from {choice}" + (f"; {len(corpus.rejected)} files rejected:"
                                                                      if corpus.rejected else "")]
    lines += [f"- {Path(f).name}: {why}" for f, why in list(corpus.rejected)[:SHOWN_REJECTED]]
    if len(corpus.pieces) < 2:
        raise TunesmithError(f"{choice}: {len(corpus.pieces)} readable pieces; training needs at least 2"
                             + (f" ({corpus.rejected[0][1]})" if corpus.rejected else ""))
    return source, "\n".join(lines)


def _status(queue: TrainingQueue, job_id: float | None) -> tuple[str, Any, Any]:
    """The chosen job's line, its loss curve, and the table of every job with its place."""
    table = pd.DataFrame([{**j.status(), "place": queue.place(j)} for j in queue.jobs],
                         columns=["id", "name", "family", "state", "place", "step", "loss", "seconds_left", "message"])
    if not queue.jobs:
        return "", pd.DataFrame({"step": [], "loss": [], "kind": []}), table
    job = queue.job(int(job_id)) if job_id else queue.jobs[-1]
    status = job.status()
    left = status["seconds_left"]
    line = (f"job {job.id} ({job.name}): **{status['state']}**"
            + (f", waiting, place {queue.place(job)}" if status["state"] == "waiting" else "")
            + f", step {status['step']}"
            + (f", loss {status['loss']:.3f}" if status["loss"] is not None else "")
            + (f", {int(left // 60)}:{int(left % 60):02d} left" if left is not None else "")
            + (f". {status['message']}" if status["message"] else ""))
    return line, pd.DataFrame(job.curve(), columns=["step", "loss", "kind"]), table


def train_page(maker: Maker, queue: TrainingQueue, t: Any) -> None:
    settings = maker.settings
    with gr.Row():
        corpus = gr.Radio(list(BUNDLED) + ["uploaded"], value=next(iter(BUNDLED)), label=t("corpus"))
        files = gr.File(label=t("files"), file_count="multiple", file_types=MUSIC_TYPES + [".zip"], type="filepath")
    check = gr.Button(t("check_corpus"))
    report = gr.Markdown()
    with gr.Row():
        family = gr.Dropdown(families(), value="rnn", label=t("family"))
        config = gr.Dropdown([DEFAULTS] + shipped_configs(), value=DEFAULTS, label=t("config"))
        config_file = gr.File(label=t("config_file"), file_types=[".toml", ".json"], type="filepath")
        minutes = gr.Slider(1, settings.train_minutes, value=10, step=1, label=t("minutes"))
        name = gr.Textbox(value="my-model", label=t("run_name"), max_lines=1)
    with gr.Row():
        start = gr.Button(t("start"), variant="primary")
        job_id = gr.Number(value=None, precision=0, label=t("job"))
        stop = gr.Button(t("stop"), variant="stop")
    status = gr.Markdown()
    curve = gr.LinePlot(pd.DataFrame({"step": [], "loss": [], "kind": []}), x="step", y="loss", color="kind",
                        label=t("loss"))
    jobs = gr.Dataframe(label=t("jobs"), interactive=False)
    timer = gr.Timer(2.0)

    @shown
    def check_corpus(choice: str, uploads: list[str] | None) -> str:
        return _corpus(choice, uploads, maker)[1]

    @shown
    def start_job(choice: str, uploads: list[str] | None, family_name: str, config_name: str,
                  config_upload: str | None, limit: float, run_name: str) -> tuple[str, int]:
        if family_name not in families():
            raise TunesmithError(f"unknown model family {family_name!r}")
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(run_name or "")).strip("-")[:60]
        if not slug:
            raise TunesmithError("give the new model a name (letters, digits, '-' and '_')")
        out = settings.runs / slug
        if out.exists():
            raise TunesmithError(f"runs/{slug} exists already: choose another name")
        source, corpus_report = _corpus(choice, uploads, maker)
        minutes_value = min(float(limit), settings.train_minutes)
        job = queue.submit(Job(queue.next_id(), slug, family_name, source, out, minutes_value,
                               _config_path(config_name, config_upload, maker)))
        return corpus_report, job.id

    @shown
    def stop_job(chosen: float | None) -> None:
        queue.stop(int(chosen) if chosen else queue.jobs[-1].id)

    check.click(check_corpus, [corpus, files], [report], api_name="check_corpus")
    start.click(start_job, [corpus, files, family, config, config_file, minutes, name], [report, job_id],
                api_name="train")
    stop.click(stop_job, [job_id], None, api_name="stop")
    timer.tick(lambda chosen: _status(queue, chosen), [job_id], [status, curve, jobs], show_progress="hidden")
    gr.on([start.click, stop.click], lambda chosen: _status(queue, chosen), [job_id], [status, curve, jobs])
    # the page's API: a job's line and curve, for clients that cannot watch the page
    status_api = gr.Button(visible=False)
    status_api.click(lambda chosen: _status(queue, chosen)[0], [job_id], [status], api_name="job_status")


def evaluate_page(maker: Maker, t: Any) -> dict[str, Any]:
    settings = maker.settings
    with gr.Row():
        source = gr.Radio(["model", "uploaded"], value="model", label=t("source"))
        model = gr.Dropdown(model_choices(maker), value=None, label=t("model"))
        num = gr.Slider(2, settings.evaluate_pieces, value=10, step=1, label=t("num"))
        bars = gr.Slider(1, settings.max_bars, value=8, step=1, label=t("bars"))
        seed = gr.Number(value=0, precision=0, label=t("seed"))
    with gr.Row():
        files = gr.File(label=t("files"), file_count="multiple", file_types=MUSIC_TYPES + [".zip"], type="filepath")
        reference = gr.Dropdown(list(BUNDLED), value=next(iter(BUNDLED)), label=t("reference"))
    go = gr.Button(t("evaluate_button"), variant="primary")
    summary = gr.Markdown()
    copies = gr.Markdown(label=t("copies"))
    figures = gr.Gallery(label=t("figures"), columns=3, height="auto")
    download = gr.File(label=t("download_report"))
    with gr.Accordion(t("report"), open=False):
        report = gr.Markdown()

    @shown
    def evaluate(kind: str, model_name: str | None, count: float, bar_count: float, seed_value: float,
                 uploads: list[str] | None, against: str) -> list[Any]:
        from tunesmith.studio.assess import assess  # the evaluation (scipy, matplotlib) loads on first use

        found = assess(maker, against, model_name=model_name if kind == "model" else None,
                       uploads=uploads if kind == "uploaded" else None, num=int(count), bars=int(bar_count),
                       seed=int(seed_value or 0))
        flagged = "\n".join(f"- copies: {line}" for line in found.copies) or "no copies"
        unread = "\n".join(f"- not read: {line}" for line in found.rejected)
        return [found.summary, flagged + ("\n\n" + unread if unread else ""), [str(p) for p in found.figures],
                str(found.zip), found.report]

    go.click(evaluate, [source, model, num, bars, seed, files, reference], [summary, copies, figures, download, report],
             api_name="evaluate")
    return {"model": model}
