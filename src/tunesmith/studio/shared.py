"""What the studio's pages share: errors shown in the page (never a traceback, and the server keeps serving),
the model choices, and the outputs that show a piece (player, piano-roll, score, summary, download)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from tunesmith.errors import TunesmithError
from tunesmith.studio.making import Maker, PieceView
from tunesmith.studio.work import find_models

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
PIECE_PARTS = 5  # audio, piano-roll, score, summary, zip


def shown(fn: F) -> F:
    """`fn` with its errors turned into a message in the page: a user's error as it is, anything else as one
    line naming the error (the traceback goes to the studio's log)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except TunesmithError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:
            log.exception("studio request failed")
            raise gr.Error(f"internal error ({type(exc).__name__}: {exc})", print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def model_choices(maker: Maker, family: str | None = None) -> list[tuple[str, str]]:
    """(label, name) of each model offered (of `family` when given)."""
    return [(m.label, m.name) for m in find_models(maker.settings) if family is None or m.family == family]


def piece_outputs(count: int, t: Any) -> list[tuple[Any, ...]]:
    """`count` slots, each (audio, piano-roll, score, summary, download), hidden until filled."""
    slots = []
    for index in range(count):
        with gr.Group(), gr.Row(equal_height=False):
            with gr.Column(scale=1):
                audio = gr.Audio(type="filepath", label=t("audio"), visible=False, elem_classes=["piece-audio"],
                                 elem_id=f"piece-{index + 1}-audio")
                summary = gr.Markdown(visible=False, elem_id=f"piece-{index + 1}-summary")
                download = gr.File(label=t("download"), visible=False)
            with gr.Column(scale=2):
                roll = gr.Image(type="filepath", label=t("roll"), visible=False, elem_id=f"piece-{index + 1}-roll")
                score = gr.HTML(visible=False, elem_id=f"piece-{index + 1}-score")
        slots.append((audio, roll, score, summary, download))
    return slots


def piece_updates(views: list[PieceView], count: int) -> list[Any]:
    """The values of `count` slots: the views' files, the rest hidden."""
    out: list[Any] = []
    for index in range(count):
        if index < len(views):
            view = views[index]
            out += [gr.update(value=str(view.files["wav"]), visible=True, label=view.name),
                    gr.update(value=str(view.files["png"]), visible=True),
                    gr.update(value=f'<div class="score">{view.svg}</div>', visible=True),
                    gr.update(value=view.summary, visible=True),
                    gr.update(value=str(view.zip), visible=True)]
        else:
            out += [gr.update(value=None, visible=False)] * PIECE_PARTS
    return out


def refreshed(maker: Maker, family: str | None = None) -> Any:
    """The model dropdown's choices as they are now (a run trained here appears)."""
    return gr.update(choices=model_choices(maker, family))
