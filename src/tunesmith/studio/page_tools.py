"""The Harmonise page (a GAN writes the other voices around a melody) and the Blend page (a VAE's interpolation
from one piece to another, with sliders for the attributes the run knows)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from tunesmith.studio.making import Maker, gan_tracks, vae_attributes
from tunesmith.studio.shared import model_choices, piece_outputs, piece_updates, shown
from tunesmith.studio.work import model_named

MUSIC_TYPES = [".mid", ".midi", ".kar", ".musicxml", ".xml", ".mxl", ".abc"]
ATTRIBUTE_NAMES = ("density", "pitch", "range", "syncopation", "velocity")  # a VAE's attribute vectors


def harmonise_page(maker: Maker, t: Any) -> dict[str, Any]:
    """Lay out the Harmonise page; returns its model and example dropdowns (refreshed on load)."""
    with gr.Row():
        melody = gr.File(label=t("melody"), file_types=MUSIC_TYPES, type="filepath")
        example = gr.Dropdown([], value=None, label=t("example"))
    with gr.Row():
        model = gr.Dropdown(model_choices(maker, "gan"), value=None, label=t("model"))
        track = gr.Dropdown([], value=None, label=t("track"))
        seed = gr.Number(value=0, precision=0, label=t("seed"))
        bars = gr.Number(value=None, precision=0, label=t("bars"))
    go = gr.Button(t("harmonise_button"), variant="primary", elem_id="harmonise-button")
    (slot,) = piece_outputs(1, t)

    @shown
    def harmonise(model_name: str, track_name: str | None, seed_value: float, bars_value: float | None,
                  upload: str | None, example_name: str | None) -> list[Any]:
        piece = maker.chosen_piece(upload, example_name, "melody")
        views = maker.harmonise(model_name, piece, track_name or None, int(seed_value or 0),
                                int(bars_value) if bars_value else None)
        return piece_updates(views, 1)

    @shown
    def tracks_of(model_name: str | None) -> Any:
        if not model_name:
            return gr.update(choices=[], value=None)
        tracks = gan_tracks(model_named(maker.settings, model_name, family="gan"))
        return gr.update(choices=tracks, value=tracks[0])

    go.click(harmonise, [model, track, seed, bars, melody, example], list(slot), api_name="harmonise")
    model.change(tracks_of, [model], [track], api_name="tracks_of")
    return {"model": model, "example": example}


def blend_page(maker: Maker, t: Any) -> dict[str, Any]:
    """Lay out the Blend page; returns its model and example dropdowns (refreshed on load)."""
    steps_most = maker.settings.blend_steps
    with gr.Row():
        with gr.Column():
            first = gr.File(label=t("first"), file_types=MUSIC_TYPES, type="filepath")
            first_example = gr.Dropdown([], value=None, label=t("first_example"))
        with gr.Column():
            second = gr.File(label=t("second"), file_types=MUSIC_TYPES, type="filepath")
            second_example = gr.Dropdown([], value=None, label=t("second_example"))
    with gr.Row():
        model = gr.Dropdown(model_choices(maker, "vae"), value=None, label=t("model"))
        steps = gr.Slider(2, steps_most, value=min(5, steps_most), step=1, label=t("steps"))
        temperature = gr.Number(value=None, label=t("decode_temperature"))
        seed = gr.Number(value=0, precision=0, label=t("seed"))
    with gr.Row():
        sliders = [gr.Slider(-3, 3, value=0, step=0.25, label=name, interactive=False) for name in ATTRIBUTE_NAMES]
    go = gr.Button(t("blend_button"), variant="primary", elem_id="blend-button")
    rows = []
    with gr.Row():
        for index in range(steps_most):
            with gr.Column(min_width=120):
                rows.append((gr.Audio(type="filepath", visible=False, label=f"{index + 1}"),
                             gr.Image(type="filepath", visible=False, show_label=False)))
    (joined,) = piece_outputs(1, t)

    @shown
    def blend(model_name: str, steps_value: float, temperature_value: float | None, seed_value: float,
              first_upload: str | None, first_name: str | None, second_upload: str | None, second_name: str | None,
              *amounts: float) -> list[Any]:
        a = maker.chosen_piece(first_upload, first_name, "first piece")
        b = maker.chosen_piece(second_upload, second_name, "second piece")
        attributes = {name: float(v) for name, v in zip(ATTRIBUTE_NAMES, amounts, strict=True) if v}
        views, whole = maker.blend(model_name, a, b, int(steps_value), attributes, temperature_value,
                                   int(seed_value or 0))
        out: list[Any] = []
        for index in range(steps_most):
            if index < len(views):
                out += [gr.update(value=str(views[index].files["wav"]), visible=True),
                        gr.update(value=str(views[index].files["png"]), visible=True)]
            else:
                out += [gr.update(value=None, visible=False)] * 2
        return out + piece_updates([whole], 1)

    @shown
    def attributes_of(model_name: str | None) -> list[Any]:
        known = vae_attributes(model_named(maker.settings, model_name, family="vae")) if model_name else {}
        return [gr.update(interactive=name in known, info=known.get(name, "no vector in this run"))
                for name in ATTRIBUTE_NAMES]

    go.click(blend, [model, steps, temperature, seed, first, first_example, second, second_example, *sliders],
             [c for row in rows for c in row] + list(joined), api_name="blend")
    model.change(attributes_of, [model], sliders, api_name="attributes_of")
    return {"model": model, "examples": [first_example, second_example]}
