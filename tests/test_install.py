"""A real install: the wheel built from this checkout, installed (not editable) into a new virtual environment,
gives a working `tunesmith` with its zoo, presets and py.typed, and nothing of the source tree.

The new environment reaches the dependencies (torch and the rest) through a .pth line naming this environment's
site-packages, added after the install: .pth files there are not run from it, so this checkout's editable
install stays out of sight, and pip, which installs first, sees no other tunesmith it could replace. Nothing is
downloaded: the wheel is built with the backend installed here (hatchling, in the dev extra).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPI_LIMIT = 100 * 1024 * 1024  # PyPI refuses larger files unless the project asks for more
ZOO_NAME = "polyphonic-jsb"  # a zoo member that generates in a second

pytest.importorskip("hatchling", reason="the wheel is built with the backend installed here: pip install hatchling")


def _run(args: list, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
    return done


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_the_wheel_installs_a_working_tunesmith(tmp_path):
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", ROOT,
          "-w", tmp_path / "dist"], cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("tunesmith-*.whl"))
    assert wheel.stat().st_size < PYPI_LIMIT
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tunesmith/py.typed", "tunesmith/_data/pretrained/zoo.toml", "tunesmith/_data/configs/presets/jingle.toml",
            f"tunesmith/_data/pretrained/{ZOO_NAME}/model.safetensors"} <= names
    assert not any(n.endswith(("checkpoint.safetensors", ".pyc")) for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path)
                .stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"  # no tunesmith in the current folder either
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("COVERAGE_")}
    env["OMP_NUM_THREADS"] = "1"
    installed = site / "tunesmith"
    where = json.loads(_run([python, "-c", "import json, tunesmith; "
                             "from tunesmith.runs.zoo import zoo_folder; "
                             "from tunesmith.generation.presets import PRESET_DIRS, available_presets; "
                             "print(json.dumps([tunesmith.__file__, str(zoo_folder()), str(PRESET_DIRS[0]), "
                             "available_presets()]))"], cwd=elsewhere, env=env).stdout)
    assert where[0] == str(installed / "__init__.py")
    assert where[1:3] == [str(installed / "_data" / "pretrained"), str(installed / "_data" / "configs" / "presets")]
    assert where[3] == sorted(p.stem for p in (ROOT / "configs" / "presets").glob("*.toml"))

    listed = json.loads(_run([venv / "bin" / "tunesmith", "models", "--json"], cwd=elsewhere, env=env).stdout)
    index = tomllib.loads((ROOT / "pretrained" / "zoo.toml").read_text())
    assert [m["name"] for m in listed] == list(index)
    assert all(Path(m["path"]).parent == installed / "_data" / "pretrained" for m in listed)

    zoo = installed / "_data" / "pretrained"
    before = _snapshot(zoo)
    done = _run([venv / "bin" / "tunesmith", "generate", ZOO_NAME, "--num", "1", "--bars", "2", "--no-wav", "--no-png",
                 "--out", tmp_path / "out"], cwd=elsewhere, env=env)
    assert ": 2 bars, " in done.stdout
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".mid"]
    assert _snapshot(zoo) == before  # generating reads the zoo and writes only into --out
