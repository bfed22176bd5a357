"""Load test of the sandbox's HTTP service: many requests at once, every answer checked, latency percentiles.

Starts ``codemill sandbox serve`` on a free local port and sends ``--requests`` SandboxFusion ``/run_code`` requests
with ``--clients`` in flight, cycling through programs whose verdict is known (Python and Bash that pass, Python
that fails an assertion, a C program that compiles and runs, a Python program that loops past its 2 s limit).
Each answer's status is compared with the one expected: a wrong verdict or an HTTP error counts as a failure,
never as a slow success. Prints and writes ``bench/results/sandbox_load.json``: requests per second, latency
p50/p90/p99/max, statuses, wrong verdicts, errors.

    .venv/bin/python bench/sandbox_load.py --requests 1000 --clients 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox_load.json"

# (SandboxFusion request, the status codemill must give): SandboxFusion's own status is "Success" or "Failed"
PROGRAMS: list[tuple[dict[str, Any], str]] = [
    ({"language": "python", "code": "print(sum(range(10)))"}, "passed"),
    ({"language": "python", "code": "assert 1 + 1 == 3, 'wrong'"}, "failed"),
    ({"language": "bash", "code": 'x=$((6 * 7)); [ "$x" -eq 42 ]'}, "passed"),
    ({"language": "cpp", "code": '#include <cstdio>\nint main() { std::puts("hi"); }\n'}, "passed"),
    ({"language": "python", "code": "while True: pass", "run_timeout": 2}, "timeout"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, concurrency: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "codemill.cli", "sandbox", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--concurrency", str(concurrency)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/docs", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the sandbox server did not start within 60 s")


async def load(port: int, requests: int, clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body, expected = PROGRAMS[i % len(PROGRAMS)]
            started = time.perf_counter()
            try:
                reply = await http.post(f"http://127.0.0.1:{port}/run_code", json=body, timeout=120)
                reply.raise_for_status()
                status = reply.json()["codemill"]["status"]
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if status != expected:
                wrong[f"{body['language']}: {expected} -> {status}"] += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    seconds = time.perf_counter() - started
    values = np.asarray(latencies)
    return {
        "requests": requests,
        "answered": len(latencies),
        "seconds": round(seconds, 2),
        "requests_per_second": round(len(latencies) / seconds, 2),
        "latency_seconds": {
            q: round(float(np.percentile(values, p)), 3) for q, p in (("p50", 50), ("p90", 90), ("p99", 99))
        }
        | {"max": round(float(values.max()), 3)}
        if len(values)
        else {},
        "statuses": dict(statuses.most_common()),
        "wrong_verdicts": dict(wrong),
        "errors": dict(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="requests in flight")
    parser.add_argument("--concurrency", type=int, default=None, help="the server's programs at once (its default)")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, args.concurrency or (os.cpu_count() or 1))
    try:
        measured = asyncio.run(load(port, args.requests, args.clients))
    finally:
        server.terminate()
        server.wait(timeout=30)
    measured |= {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "clients": args.clients,
        "server_concurrency": args.concurrency or os.cpu_count(),
        "machine": f"{os.cpu_count()} cores ({platform.machine()}), shared with other jobs",
        "programs": [f"{b['language']} -> {s}" for b, s in PROGRAMS],
    }
    RESULTS.write_text(json.dumps(measured, indent=2) + "\n")
    print(json.dumps(measured, indent=2))
    if measured["wrong_verdicts"] or measured["errors"]:
        raise SystemExit("wrong verdicts or errors under load: see above")


if __name__ == "__main__":
    main()
