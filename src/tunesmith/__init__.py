"""tunesmith: train, steer, hear and measure AI music models on symbolic music.

    import tunesmith
    run = tunesmith.load_run("runs/bach-rnn")  # a run directory, or a zoo model's name (`tunesmith models`)
    pieces = run.generate(tunesmith.Controls(num=2, bars=8, seed=1))
    pieces[0].save("first.mid")

    tunesmith.train("transformer", "bach", "runs/bach-transformer")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunesmith.errors import ControlError, MusicFileError, TunesmithError
from tunesmith.piece import Piece

if TYPE_CHECKING:  # type checkers and editors see the names; at run time they load on first use (below)
    from tunesmith.controls.controls import Controls
    from tunesmith.generation.run import Run, generate, load_run
    from tunesmith.training.trainer import train

__version__ = "0.1.0"

__all__ = ["ControlError", "Controls", "MusicFileError", "Piece", "Run", "TunesmithError", "__version__",
           "generate", "load_run", "train"]

# torch-heavy parts load on first use, so `import tunesmith` stays quick: name -> the module that defines it
_LAZY = {
    "Controls": "tunesmith.controls.controls",
    "Run": "tunesmith.generation.run",
    "generate": "tunesmith.generation.run",
    "load_run": "tunesmith.generation.run",
    "train": "tunesmith.training.trainer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunesmith' has no attribute {name!r}")
