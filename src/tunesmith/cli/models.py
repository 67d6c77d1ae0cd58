"""`tunesmith models`: the trained models that ship with tunesmith (the zoo), each usable by name."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from tunesmith.cli.common import console


def models_command(
    json_out: bool = typer.Option(False, "--json", help="print the zoo as JSON (one object per model)"),
    controls: bool = typer.Option(False, "--controls", help="print instead which controls each family honours, "
                                                            "and how (a Markdown table)"),
) -> None:
    """List the zoo: name, family, corpus, size and purpose. Every command that takes a run directory also
    takes one of these names, e.g. `tunesmith generate NAME`."""
    from tunesmith.runs.zoo import zoo_folder, zoo_models

    if controls:
        from tunesmith.generation.control_table import control_table

        print(control_table(), end="")
        return

    models = zoo_models()
    if json_out:
        print(json.dumps([m.to_dict() for m in models], indent=2))
        return
    if not models:
        console.print(f"no zoo models installed (looked in {zoo_folder()})")
        return
    # one line of figures per model and its purpose below it: readable at 80 columns, where a table's purpose
    # column would be a few characters wide
    name_width = max(len(m.name) for m in models)
    corpus_width = max(len(m.corpus_label) for m in models)
    console.print(f"[bold]{'name':{name_width}}  {'family':11} {'corpus':{corpus_width}}  {'MB':>6}[/bold]")
    for m in models:
        console.print(f"{escape(m.name):{name_width}}  {m.family:11} {escape(m.corpus_label):{corpus_width}}  "
                      f"{m.size_bytes / 1e6:6.1f}")
        console.print(f"    {escape(m.purpose)}", style="dim")
    console.print(f"use one by name, e.g. `tunesmith generate {models[0].name} --bars 8`; "
                  f"the runs are in {zoo_folder()}")


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
