"""The studio: tunesmith's web app (`tunesmith studio`), built with Gradio. It calls generation, training,
evaluation and outputs, never the models directly.

- settings.py: `StudioSettings`, every limit in one place (uploads, pieces, queue, memory).
- work.py: the models offered (zoo and --runs), uploads taken under safe names and read crash-isolated, results.
- making.py: `Maker`: Compose, Vary, Harmonise and Blend without the page.
- jobs.py: `TrainingQueue`: one training process at a time, the rest waiting, Stop.
- assess.py: the Evaluate page's work.
- page_*.py, shared.py: the pages; app.py: `build_studio`, `serve`; text.py: English and Simplified Chinese.
"""

from typing import Any

from tunesmith.studio.settings import StudioSettings


def serve(settings: StudioSettings, *, block: bool = True) -> Any:
    """Start the studio (gradio is imported only here)."""
    from tunesmith.studio.app import serve as start

    return start(settings, block=block)


__all__ = ["StudioSettings", "serve"]
