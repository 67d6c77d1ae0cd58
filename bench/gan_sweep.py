"""Several GAN benchmark runs side by side, one process each (a many-core or GPU machine): each run is
`NAME=ARGS` for bench/gan.py, after the arguments common to all. Prints one JSON line: every run's result
(its data and generated metrics, and which of them are within target), in the order given.

    python bench/gan_sweep.py --common "--data DIR --steps 1150 --device cuda --threads 2" \\
        "bars=--config configs/gan-pop909.toml --set model.gates.bar=true" "plain=--config configs/gan-pop909.toml"
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=ARGS")
    parser.add_argument("--common", default="", help="arguments given to every run")
    parser.add_argument("--out", default="/tmp/tunesmith-gan-sweep", help="one run directory per run under it")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    procs = {}
    for spec in args.runs:
        name, equals, extra = spec.partition("=")
        if not equals or not name.isidentifier():
            parser.error(f"a run is NAME=ARGS with NAME a plain word (got {spec!r})")
        command = [sys.executable, str(HERE / "gan.py"), *shlex.split(args.common), *shlex.split(extra),
                   "--out", str(out / name)]
        log = (out / f"{name}.log").open("w")
        procs[name] = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True), log)
    results = {}
    for name, (proc, log) in procs.items():
        stdout, _ = proc.communicate()
        log.close()
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        results[name] = json.loads(lines[-1]) if proc.returncode == 0 and lines else {
            "error": f"exit {proc.returncode}", "log_tail": (out / f"{name}.log").read_text()[-600:]}
    print(json.dumps({"bench": "gan_sweep", "common": args.common, "runs": results}), flush=True)
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
