"""The studio's start: the page is built without the models' side (torch, the tokenizers, the evaluation's
scipy), which loads in the background once the page is up, and without Gradio's stub writing."""

from __future__ import annotations

import json
import subprocess
import sys

BUILD = """
import json, sys
from pathlib import Path
from tunesmith.studio.app import WARMED_TOO, build_studio
from tunesmith.studio.making import HEAVY_MODULES
from tunesmith.studio.settings import StudioSettings
demo, t, maker = build_studio(StudioSettings(work=Path(sys.argv[1])))
import gradio.component_meta as meta
at_build = {name: name in sys.modules for name in ("torch", "scipy", "miditok", "tunesmith.generation.run")}
maker.warm((*HEAVY_MODULES, *WARMED_TOO)).join()
warm = {name: name in sys.modules for name in ("torch", "tunesmith.generation.run", "tunesmith.studio.assess")}
print(json.dumps({"at_build": at_build, "warm": warm, "stub_writer": meta.create_or_modify_pyi.__name__,
                  "tabs": len([b for b in demo.blocks.values() if type(b).__name__ == "Tab"])}))
"""


def test_the_page_is_built_before_the_models_side_loads(tmp_path):
    done = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path / "work")], capture_output=True, text=True,
                          timeout=300, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["at_build"] == {"torch": False, "scipy": False, "miditok": False, "tunesmith.generation.run": False}
    assert found["warm"] == {"torch": True, "tunesmith.generation.run": True, "tunesmith.studio.assess": True}
    assert found["stub_writer"] == "<lambda>" and found["tabs"] == 5


def test_runs_read_their_files_without_torch():
    code = ("import sys; from tunesmith.runs import read_config, zoo_models, default_temperature; "
            "models = {m.name: m for m in zoo_models()}; config = read_config(models['folk-vae-2bar'].path); "
            "print(len(models), default_temperature(config), 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    count, temperature, torch_loaded = done.stdout.split()
    assert int(count) >= 7 and float(temperature) == 0.3 and torch_loaded == "False"
