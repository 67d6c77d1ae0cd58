"""The families x controls table: for every control, whether each family honours it inside sampling (masks,
conditioning, latents, thresholds), afterwards on the finished piece (tempo, programs, velocities...), or
refuses it with a reason. Made from the families' own declarations (`Family.supported_controls`,
`afterwards`, `refused`), so README's copy (between the `controls-table` markers) is tested against it and
`tunesmith models --controls` prints it."""

from __future__ import annotations

import dataclasses

from tunesmith.controls.controls import UNIVERSAL, Controls
from tunesmith.models import available_families, get_family

FLAGS = {"attributes": "--attribute"}  # Controls fields whose option is not the field's name
CELLS = {"sampling": "in sampling", "after": "afterwards", "refused": "refused"}


def flag(control: str) -> str:
    """The command-line option of a Controls field."""
    return FLAGS.get(control, "--" + control.replace("_", "-"))


def how(family_name: str, control: str) -> str:
    """'sampling', 'after' or 'refused': how the family honours the control."""
    family = get_family(family_name)
    if control in UNIVERSAL:
        return "sampling"
    if control not in family.supported_controls:
        return "refused"
    return "after" if control in family.afterwards else "sampling"


def _cell(family_name: str, control: str) -> str:
    limit = get_family(family_name).limits.get(control)
    return CELLS[how(family_name, control)] + (f" ({limit})" if limit else "")


def control_table() -> str:
    """The Markdown table: one row per control (the universal ones in the first), one column per family."""
    families = available_families()
    universal = [f.name for f in dataclasses.fields(Controls) if f.name in UNIVERSAL]
    rest = [f.name for f in dataclasses.fields(Controls) if f.name not in UNIVERSAL]
    lines = ["| control | " + " | ".join(families) + " |", "|---|" + "---|" * len(families),
             "| " + ", ".join(flag(c) for c in universal) + " | " + " | ".join(["every family"] * len(families)) + " |"]
    lines += ["| " + flag(c) + " | " + " | ".join(_cell(f, c) for f in families) + " |" for c in rest]
    return "\n".join(lines) + "\n"


def families() -> list[str]:
    """The model families a run can be trained with, in their registered order."""
    return available_families()


def refusals(family_name: str) -> dict[str, str]:
    """The controls (Controls fields) the family refuses, each with the reason its error gives."""
    family = get_family(family_name)
    return {f.name: family.refused.get(f.name, f"the {family_name} model cannot honour it")
            for f in dataclasses.fields(Controls) if how(family_name, f.name) == "refused"}
