"""The studio's page: five tabs (Compose, Harmonise, Blend, Train, Evaluate) in one Gradio Blocks, served on the
loopback address unless told otherwise, with uploads limited and generating requests queued."""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys
from typing import Any

from tunesmith.studio.settings import StudioSettings

log = logging.getLogger(__name__)
WARMED_TOO = ("tunesmith.studio.assess",)  # the Evaluate page's side (scipy, matplotlib), also loaded after the start

CSS = """
.score svg { max-width: 100%; height: auto; background: white; }
.score { overflow-x: auto; }
"""


class _NoStubWriting(importlib.abc.MetaPathFinder):
    """Gradio's import parses the source of each of its ~40 components and rewrites the component's `.pyi` type
    stub when it differs (`gradio.component_meta.create_or_modify_pyi`, a help for authors of custom components).
    That is about 1.5 of its 2.5 to 3.4 s import on a 2-core machine, and writes nothing a running server reads,
    so the studio loads `gradio.component_meta` with that function made a no-op. Should a later Gradio lack
    the module or the function, nothing is changed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "gradio.component_meta":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        load = loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            if hasattr(module, "create_or_modify_pyi"):
                module.create_or_modify_pyi = lambda *args, **kwargs: None

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this spec's loader only
        return spec


def import_gradio() -> Any:
    """gradio, imported without its stub writing (_NoStubWriting) when this process has not imported it yet."""
    if "gradio" not in sys.modules and not any(isinstance(f, _NoStubWriting) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoStubWriting())
    import gradio

    return gradio


def build_studio(settings: StudioSettings) -> tuple[Any, Any, Any]:
    """(the Blocks, its I18n, the Maker): every page wired to the studio's Maker and TrainingQueue."""
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.folder("gradio").resolve()))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
    gr = import_gradio()

    from tunesmith.studio.jobs import TrainingQueue
    from tunesmith.studio.making import Maker
    from tunesmith.studio.page_compose import compose_page
    from tunesmith.studio.page_tools import blend_page, harmonise_page
    from tunesmith.studio.page_train import evaluate_page, train_page
    from tunesmith.studio.shared import refreshed
    from tunesmith.studio.text import i18n

    t = i18n()
    maker = Maker(settings)
    queue = TrainingQueue(settings.folder("jobs"))
    with gr.Blocks(title="tunesmith studio", delete_cache=(3600, 3600), analytics_enabled=False) as demo:
        gr.Markdown("# tunesmith studio")
        gr.Markdown(t("intro"))
        with gr.Tab(t("compose"), id="compose"):
            compose = compose_page(maker, t)
            refresh = gr.Button(t("refresh"), size="sm")
        with gr.Tab(t("harmonise"), id="harmonise"):
            harmonise = harmonise_page(maker, t)
        with gr.Tab(t("blend"), id="blend"):
            blend = blend_page(maker, t)
        with gr.Tab(t("train"), id="train"):
            train_page(maker, queue, t)
        with gr.Tab(t("evaluate"), id="evaluate"):
            evaluate = evaluate_page(maker, t)
        dropdowns = [(compose["model"], None), (harmonise["model"], "gan"), (blend["model"], "vae"),
                     (evaluate["model"], None)]
        examples = [harmonise["example"], *blend["examples"]]

        def models_now() -> list[Any]:
            return [refreshed(maker, family) for _, family in dropdowns]

        def examples_now() -> list[Any]:
            names = list(maker.examples())
            return [gr.update(choices=names, value=names[i % len(names)] if names else None)
                    for i in range(len(examples))]

        refresh.click(models_now, None, [d for d, _ in dropdowns], api_name="models")
        demo.load(models_now, None, [d for d, _ in dropdowns], api_name=False)
        demo.load(examples_now, None, examples, api_name=False)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    return demo, t, maker


def serve(settings: StudioSettings, *, block: bool = True) -> Any:
    """Start the studio at settings.host:settings.port; with `block`, serve until interrupted."""
    demo, t, maker = build_studio(settings)
    demo.launch(server_name=settings.host, server_port=settings.port, max_file_size=settings.upload_bytes,
                i18n=t, css=CSS, prevent_thread_lock=True, show_error=True, quiet=True,
                footer_links=["api", "settings"], run_history=False, state_session_capacity=1000)
    from tunesmith.studio.making import HEAVY_MODULES

    maker.warm((*HEAVY_MODULES, *WARMED_TOO))  # the page is up: the models' side loads before a request needs it
    if block:
        demo.block_thread()
    return demo
