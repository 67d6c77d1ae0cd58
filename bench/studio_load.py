"""The studio under load: `tunesmith studio` started on the loopback address, then CLIENTS concurrent clients
(gradio_client) asking for one 8-bar piece from a zoo Transformer (with its WAV, piano-roll and score) until
REQUESTS are answered. Prints one JSON line: seconds until the page answers, the first piece's latency (the
model loaded), one piece's on the warm studio with nobody else asking,
requests/s, p50/p95 latency, errors, and the server's memory: after the first two requests, after WARMUP more
(asked by the same clients, so that the server's threads, caches and allocator arenas exist), and after the
REQUESTS measured; the growth is over the REQUESTS.

    python bench/studio_load.py --clients 4 --requests 200 --warmup 40
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the training and reading workers), in MB."""
    total = 0
    for task in [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        for line in Path(f"/proc/{task}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def compose_args(model: str, seed: int) -> list:
    from tunesmith.studio.page_compose import CONTROL_FIELDS

    values = {"num": 1, "bars": 8, "seed": seed, "temperature": 1.0, "attempts": 3}
    switches = {"scale_lock", "end_on_tonic", "loopable", "monophonic", "simple_rhythm", "harmonise"}
    return [model, ""] + [values.get(n, False if n in switches else None) for n in CONTROL_FIELDS] + [None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model", default="bach-transformer")
    parser.add_argument("--warmup", type=int, default=40,
                        help="requests answered (by the same number of clients) before the memory is first read")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop asking after this long")
    args = parser.parse_args()
    from gradio_client import Client

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="studio-load-"))
    started = time.perf_counter()
    server_log = open(work / "studio.log", "wb")  # a file, not a pipe: a full pipe would stop the server
    server = subprocess.Popen([sys.executable, "-m", "tunesmith.cli.main", "studio", "--port", str(port),
                               "--work", str(work / "work"), "--runs", str(work / "runs")],
                              stdout=server_log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                if server.poll() is not None:
                    log = (work / "studio.log").read_text(errors="replace")[-500:]
                    raise SystemExit(f"the studio did not start: {log}") from None
                time.sleep(0.05)
        usable = time.perf_counter() - started
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        client.predict(*compose_args(args.model, 0), api_name="/compose")
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.predict(*compose_args(args.model, 1), api_name="/compose")
        alone = time.perf_counter() - t0  # one request on a warm studio, nobody else asking
        memory_first = rss_mb(server.pid)
        lock = threading.Lock()
        deadline = time.perf_counter() + args.max_seconds

        def load(count: int, first_seed: int) -> tuple[list[float], list[str], float]:
            """`args.clients` users asking until `count` pieces are answered: latencies, errors, seconds."""
            latencies: list[float] = []
            errors: list[str] = []
            counter = iter(range(first_seed, first_seed + count))

            def user() -> None:
                own = Client(url, verbose=False)
                while time.perf_counter() < deadline:
                    with lock:
                        n = next(counter, None)
                    if n is None:
                        return
                    t = time.perf_counter()
                    try:
                        own.predict(*compose_args(args.model, n), api_name="/compose")
                        with lock:
                            latencies.append(time.perf_counter() - t)
                    except Exception as exc:  # counted, not raised: the benchmark reports errors
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}"[:200])

            start = time.perf_counter()
            users = [threading.Thread(target=user) for _ in range(args.clients)]
            for u in users:
                u.start()
            for u in users:
                u.join()
            return latencies, errors, time.perf_counter() - start

        _, warm_errors, _ = load(args.warmup, 10**6)
        memory_before = rss_mb(server.pid)
        latencies, errors, elapsed = load(args.requests, 2)
        memory_after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    print(json.dumps({
        "bench": "studio_load", "machine": f"{os.cpu_count()}-core CPU", "model": args.model, "bars": 8,
        "clients": args.clients, "requests": len(latencies) + len(errors), "usable_s": round(usable, 2),
        "first_piece_s": round(first, 2), "one_piece_s": round(alone, 2), "requests_per_s": round(len(latencies) / elapsed, 3),
        "p50_s": round(float(np.percentile(lat, 50)), 2), "p95_s": round(float(np.percentile(lat, 95)), 2),
        "errors": len(errors), "error_examples": errors[:3], "memory_mb_first": round(memory_first, 1),
        "warmup_requests": args.warmup, "warmup_errors": len(warm_errors), "memory_mb_before": round(memory_before, 1),
        "memory_mb_after": round(memory_after, 1),
        "memory_growth": round(memory_after / memory_before - 1, 3), "server_log": str(work / "studio.log")}))


if __name__ == "__main__":
    main()
