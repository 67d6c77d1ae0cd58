"""The Compose page: a model, a preset or the controls (every control of `tunesmith generate`; one the chosen
family cannot honour is disabled with its reason), a primer to continue; each piece heard, seen as a piano-roll
and as a score, summarised, and downloadable; "Again" and "Vary this one"."""

from __future__ import annotations

from typing import Any

import gradio as gr

from tunesmith.generation.control_table import refusals
from tunesmith.generation.presets import available_presets
from tunesmith.runs import default_temperature, read_config
from tunesmith.studio.making import Maker, PieceView
from tunesmith.studio.shared import model_choices, piece_outputs, piece_updates, shown
from tunesmith.studio.work import model_named

# The Controls fields the page sets, in the order of the compose function's inputs after model and preset
# (the primer, an upload, comes last).
CONTROL_FIELDS = ("num", "bars", "seed", "temperature", "attempts", "key", "scale_lock", "tempo", "time_signature",
                  "instruments", "density", "pitch_range", "velocity", "dynamics", "end_on_tonic", "loopable",
                  "monophonic", "simple_rhythm", "harmonise", "infill", "style", "attributes", "variation",
                  "condition_track", "roll_sampling", "seconds", "top_k", "top_p")
LABELS = {"harmonise": "harmonise_box"}


def _control(name: str, t: Any, maker: Maker) -> gr.components.Component:
    """The input of one control."""
    settings = maker.settings
    label = t(LABELS.get(name, name))
    if name == "num":
        return gr.Slider(1, settings.max_pieces, value=1, step=1, label=label)
    if name == "bars":
        return gr.Slider(1, settings.max_bars, value=8, step=1, label=label)
    if name == "temperature":
        return gr.Slider(0.1, 2.0, value=1.0, step=0.05, label=label)
    if name in ("seed", "attempts"):
        return gr.Number(value=0 if name == "seed" else 3, precision=0, label=label)
    if name in ("tempo", "variation", "seconds", "top_p"):
        return gr.Number(value=None, label=label)
    if name == "top_k":
        return gr.Number(value=None, precision=0, label=label)
    if name in ("scale_lock", "end_on_tonic", "loopable", "monophonic", "simple_rhythm", "harmonise"):
        return gr.Checkbox(value=False, label=label)
    if name == "dynamics":
        return gr.Dropdown(["", "crescendo", "diminuendo", "swell", "steady"], value="", label=label)
    if name == "roll_sampling":
        return gr.Dropdown(["", "threshold", "bernoulli"], value="", label=label)
    return gr.Textbox(value="", label=label, max_lines=1)


def _availability(maker: Maker, model_name: str | None) -> list[Any]:
    """Each control enabled, or disabled with the reason when the model's family cannot honour it; the
    temperature set to the model's own."""
    try:
        model = model_named(maker.settings, model_name)
        refused, own = refusals(model.family), {"temperature": default_temperature(read_config(model.path))}
    except Exception:  # no model chosen yet
        refused, own = {}, {}
    updates = []
    for name in CONTROL_FIELDS:
        update: dict[str, Any] = {"interactive": name not in refused,
                                  "info": f"not for this model: {refused[name]}" if name in refused else None}
        if name in own:
            update["value"] = own[name]
        updates.append(gr.update(**update))
    return updates


def compose_page(maker: Maker, t: Any) -> dict[str, Any]:
    """Lay out the page inside the current Blocks; returns the model dropdown (refreshed with the others)."""
    settings = maker.settings
    request = gr.State({})
    with gr.Row():
        model = gr.Dropdown(choices=model_choices(maker), value=None, label=t("model"), scale=3)
        preset = gr.Dropdown([""] + available_presets(), value="", label=t("preset"), scale=1)
    inputs: dict[str, Any] = {}
    with gr.Accordion(t("controls"), open=True):
        with gr.Row():
            for name in CONTROL_FIELDS[:5]:
                inputs[name] = _control(name, t, maker)
        with gr.Row():
            for name in CONTROL_FIELDS[5:11]:
                inputs[name] = _control(name, t, maker)
    with gr.Accordion(t("more_controls"), open=False):
        for start in range(11, len(CONTROL_FIELDS), 6):
            with gr.Row():
                for name in CONTROL_FIELDS[start:start + 6]:
                    inputs[name] = _control(name, t, maker)
    primer = gr.File(label=t("primer"), file_types=[".mid", ".midi", ".kar", ".musicxml", ".xml", ".mxl", ".abc"],
                     type="filepath")
    with gr.Row():
        go = gr.Button(t("compose_button"), variant="primary", elem_id="compose-button")
        again = gr.Button(t("again"))
        which = gr.Dropdown([str(i + 1) for i in range(settings.max_pieces)], value="1", label=t("which"), scale=0)
        vary = gr.Button(t("vary"))
    notes = gr.Markdown()
    slots = piece_outputs(settings.max_pieces, t)
    controls = [inputs[name] for name in CONTROL_FIELDS]
    outputs = [notes, request] + [component for slot in slots for component in slot]

    @shown
    def compose(model_name: str, preset_name: str, *values: Any) -> list[Any]:
        *settings_values, primer_path = values
        asked = dict(zip(CONTROL_FIELDS, settings_values, strict=True))
        views, left_out = maker.compose(model_name, preset_name or None, asked, primer_path)
        state = {"model": model_name, "preset": preset_name, "values": asked, "primer": primer_path,
                 "pieces": [str(v.midi) for v in views]}
        return _shown(views, left_out, state, settings.max_pieces)

    @shown
    def compose_again(state: dict[str, Any]) -> list[Any]:
        if not state:
            raise gr.Error("compose first")
        values = {**state["values"], "seed": int(state["values"].get("seed") or 0) + settings.max_pieces}
        views, left_out = maker.compose(state["model"], state["preset"] or None, values, state["primer"])
        return _shown(views, left_out, {**state, "values": values, "pieces": [str(v.midi) for v in views]},
                      settings.max_pieces)

    @shown
    def vary_one(state: dict[str, Any], index: str) -> list[Any]:
        if not state or int(index) > len(state["pieces"]):
            raise gr.Error("compose first, then choose one of its pieces")
        views = maker.vary(state["model"], state["preset"] or None, state["values"], state["pieces"][int(index) - 1],
                           state["primer"])
        return _shown(views, [], {**state, "pieces": [str(v.midi) for v in views]}, settings.max_pieces)

    go.click(compose, [model, preset, *controls, primer], outputs, api_name="compose")
    again.click(compose_again, [request], outputs, api_name="again")
    vary.click(vary_one, [request, which], outputs, api_name="vary")
    model.change(lambda name: _availability(maker, name), [model], controls, api_name="controls_for")
    return {"model": model}


def _shown(views: list[PieceView], left_out: list[str], state: dict[str, Any], slots: int) -> list[Any]:
    return ["\n\n".join(left_out), state, *piece_updates(views, slots)]
