"""tunesmith: train, steer, hear and measure AI music models on symbolic music.

    import tunesmith
    run = tunesmith.load_run("runs/bach-rnn")
    pieces = run.generate(tunesmith.Controls(num=2, bars=8, seed=1))
    pieces[0].save("first.mid")
"""

from tunesmith.errors import ControlError, MusicFileError, TunesmithError
from tunesmith.piece import Piece

__version__ = "0.1.0"

__all__ = ["ControlError", "Controls", "MusicFileError", "Piece", "TunesmithError", "__version__", "load_run"]


def __getattr__(name: str):
    # torch-heavy parts load on first use, so `import tunesmith` stays quick.
    if name == "load_run":
        from tunesmith.generation.run import load_run

        return load_run
    if name == "Controls":
        from tunesmith.controls.controls import Controls

        return Controls
    raise AttributeError(name)
