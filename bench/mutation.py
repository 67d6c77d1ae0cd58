"""Mutation testing (mutmut 3) of the modules whose mistakes a user would not notice.

Each module is mutated on its own, in a scratch copy of the repository (mutmut 3 writes a `mutants/`
folder beside the code it mutates), against only the test files that exercise it; the copy is removed
afterwards, so nothing is left in the checkout.

    .venv/bin/python bench/mutation.py                    # every module below
    .venv/bin/python bench/mutation.py --module metrics   # one (repeat --module for more)
    .venv/bin/python bench/mutation.py --module fileio --diffs   # also the surviving mutants' diffs, on stderr

Prints one JSON line: per module the number of mutants, killed, survived, timeouts, other outcomes (no
tests, suspicious, segfault), the killed share (killed / mutants) and the ids of the mutants that survived.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module name -> (the file mutated, the test files that exercise it)
MODULES = {
    "metrics": ("src/tunesmith/evaluation/metrics.py", ["tests/evaluation/test_metrics.py"]),
    "checks": ("src/tunesmith/generation/checks.py", ["tests/generation/test_checks.py"]),
    "fileio": ("src/tunesmith/fileio.py", ["tests/test_fileio.py"]),
    "checkpoint": ("src/tunesmith/runs/directory.py", ["tests/runs/test_directory.py"]),
    "tokens": ("src/tunesmith/representations/tokens.py", ["tests/representations/test_tokens.py"]),
}
# what the scratch copy needs: the package, the tests and their conftests, pytest's settings, the presets
COPIED = ["src", "tests", "configs", "pyproject.toml"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", "*.pyc")
# mutmut's exit-code verdicts, grouped as reported
TIMEOUT = "timeout"


def _toml_value(value: str | list[str] | int | bool) -> str:
    # JSON strings, integers, booleans and arrays of strings are valid TOML as they are
    return json.dumps(value)


def mutmut_config(source: str, tests: list[str]) -> str:
    """The [tool.mutmut] table for one module: mutate `source` only, run `tests` only."""
    settings = {
        "source_paths": ["src"],
        "only_mutate": [source],
        "pytest_add_cli_args_test_selection": tests,
        # torch is not fork-safe: every mutant's pytest is forked from a server that never ran a test
        "process_isolation": "forkserver",
        "also_copy": ["configs"],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def make_scratch(source: str, tests: list[str]) -> Path:
    """A copy of the repository's code and tests in a temporary folder, with the mutmut settings added."""
    missing = [p for p in [source, *tests] if not (ROOT / p).exists()]
    if missing:
        sys.exit(f"error: not found in {ROOT}: {', '.join(missing)}")
    if "mutmut" in tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}):
        sys.exit("error: pyproject.toml has a [tool.mutmut] table; bench/mutation.py writes its own per module")
    scratch = Path(tempfile.mkdtemp(prefix="tunesmith-mutation-"))
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, scratch / name, ignore=IGNORED)
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, scratch / name)
    with open(scratch / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(mutmut_config(source, tests))
    return scratch


def verdicts(scratch: Path, source: str) -> dict[str, str]:
    """Mutant id -> mutmut's verdict ('killed', 'survived', 'timeout', ...), read from its .meta file."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((scratch / "mutants" / f"{source}.meta").read_text())
    return {key: status_by_exit_code[code] for key, code in meta["exit_code_by_key"].items()}


def summarise(found: dict[str, str]) -> dict:
    """Counts per verdict, the killed share and the ids of the mutants not killed."""
    total = len(found)
    killed = sum(1 for v in found.values() if v == "killed")
    survived = sorted(k for k, v in found.items() if v == "survived")
    timeouts = sorted(k for k, v in found.items() if v == TIMEOUT)
    other = {k: v for k, v in sorted(found.items()) if v not in ("killed", "survived", TIMEOUT)}
    return {"mutants": total, "killed": killed, "survived": len(survived), "timeouts": len(timeouts),
            "other": len(other), "killed_share": round(killed / total, 4) if total else None,
            "surviving": survived, "timed_out": timeouts, "other_ids": other}


def run_module(name: str, jobs: int, env: dict[str, str], diffs: bool, keep: bool) -> dict:
    """Mutate one module in a scratch copy; returns its summary."""
    source, tests = MODULES[name]
    scratch = make_scratch(source, tests)
    mutmut = str(Path(sys.executable).parent / "mutmut")
    start = time.perf_counter()
    try:
        done = subprocess.run([mutmut, "run", "--max-children", str(jobs)], cwd=scratch, env=env,
                              capture_output=True, text=True)
        meta = scratch / "mutants" / f"{source}.meta"
        if done.returncode != 0 or not meta.exists():
            tail = (done.stdout + done.stderr)[-4000:]
            sys.exit(f"error: mutmut failed on {name} (exit {done.returncode}):\n{tail}")
        summary = {"file": source, "tests": tests, **summarise(verdicts(scratch, source)),
                   "seconds": round(time.perf_counter() - start, 1)}
        if diffs:
            for key in summary["surviving"] + summary["timed_out"] + list(summary["other_ids"]):
                shown = subprocess.run([mutmut, "show", key], cwd=scratch, env=env, capture_output=True, text=True)
                print(shown.stdout, file=sys.stderr)
        return summary
    finally:
        if keep:
            print(f"{name}: scratch copy kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES),
                        help="module to mutate (repeatable; default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--diffs", action="store_true", help="print each surviving mutant's diff on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (their paths go to stderr)")
    args = parser.parse_args()
    names = args.module or list(MODULES)

    # one thread per process; one corpus cache for all modules (a developer's own $TUNESMITH_CACHE is reused)
    cache = None if os.environ.get("TUNESMITH_CACHE") else tempfile.mkdtemp(prefix="tunesmith-mutation-cache-")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    if cache:
        env["TUNESMITH_CACHE"] = cache
    start = time.perf_counter()
    try:
        results = {name: run_module(name, args.jobs, env, args.diffs, args.keep) for name in names}
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    print(json.dumps({"bench": "mutation", "tool": "mutmut " + _version("mutmut"),
                      "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, {platform.system()}",
                      "jobs": args.jobs, "seconds": round(time.perf_counter() - start, 1),
                      "modules": results}))


def _version(package: str) -> str:
    from importlib import metadata

    return metadata.version(package)


if __name__ == "__main__":
    main()
