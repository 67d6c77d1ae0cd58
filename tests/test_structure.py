"""The package's public face and its import order: what a user imports, and the contracts that keep
`cli -> generation | training | evaluation -> runs -> models -> controls | representations -> data -> outputs
-> piece` true (pyproject.toml's [tool.importlinter])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tunesmith

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_every_public_name_resolves_to_its_home():
    from tunesmith.controls.controls import Controls
    from tunesmith.generation.run import Run, generate, load_run
    from tunesmith.training.trainer import train

    expected = {"Controls": Controls, "Run": Run, "generate": generate, "load_run": load_run, "train": train}
    for name, value in expected.items():
        assert getattr(tunesmith, name) is value
    assert {name for name in tunesmith.__all__ if getattr(tunesmith, name) is None} == set()
    assert issubclass(tunesmith.Run, tunesmith.runs.TrainedRun)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tunesmith.nope  # noqa: B018


def test_importing_tunesmith_leaves_torch_unloaded():
    code = "import sys, tunesmith; print('torch' in sys.modules, tunesmith.Piece.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "Piece"]


def test_the_command_line_starts_without_torch():
    """`tunesmith --help`, a one-line error, the studio's start: torch comes with the first model, not before."""
    code = "import sys, tunesmith.cli.main, tunesmith.controls; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False"]


def test_the_package_says_it_is_typed():
    """(tests/test_install.py checks that the built wheel holds it.)"""
    assert (Path(tunesmith.__file__).parent / "py.typed").exists()


def _lint_imports(src: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=src, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True)


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is a dev extra")
def test_the_import_contracts_hold():
    result = _lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is a dev extra")
@pytest.mark.parametrize(("module", "line", "broken"), [
    ("models/rnn.py", "import tunesmith.generation.run", "Layers"),  # a model reaching up to generation
    ("models/rnn.py", "import tunesmith.data.files", "Models never import data"),
    ("cli/render.py", "import tunesmith.models.rnn", "The command line reaches models only"),
    ("training/loop.py", "import tunesmith.generation.run", "Layers"),  # training and generation are siblings
    ("data/scores.py", "import tunesmith.data.files", "No circular imports"),
])
def test_an_import_against_the_order_breaks_a_contract(tmp_path, module, line, broken):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "tunesmith", copy / "tunesmith", ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "tunesmith" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    _, _, broken_section = result.stdout.partition("Broken contracts")
    assert f"\n{broken}" in broken_section, result.stdout[-3000:]
    assert "." + line.split(".")[-1] in broken_section  # the import added is the one named
