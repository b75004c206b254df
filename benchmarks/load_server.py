"""Load test: many concurrent clients uploading sky photos to a real CloudAtlas server.

    .venv/bin/python benchmarks/load_server.py                       # starts `cloudatlas serve` itself
    .venv/bin/python benchmarks/load_server.py --clients 32 --duration 30 --model runs/mine/model.onnx
    .venv/bin/python benchmarks/load_server.py --url http://127.0.0.1:8000   # an already running server

Prints requests/s, latency percentiles, errors, and (for a server it started) the server's
memory before and after the run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _common import CCSN, phone_photo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(f.read().split("VmRSS:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return None


def start_server(model: str | None, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "cloudatlas", "serve", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning"] + (["--model", model] if model else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server did not start:\n{proc.stdout.read()}")
        try:
            httpx.get(url + "/healthz", timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("the server did not answer /healthz within 60 s")


async def run_clients(url: str, photos: list[tuple[str, bytes]], clients: int, duration: float, cam: bool):
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def one_client(k: int) -> None:
            i = k
            while time.perf_counter() < deadline:
                name, data = photos[i % len(photos)]
                i += clients
                t = time.perf_counter()
                try:
                    r = await client.post("/api/v1/classify", params={"cam": cam},
                                          files={"file": (name, data, "image/jpeg")})
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t)
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as err:
                    errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client(k) for k in range(clients)))
        return latencies, errors, time.perf_counter() - started


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="benchmark this running server instead of starting one")
    ap.add_argument("--model", help="model for the server started here (default: the bundled model)")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    ap.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    ap.add_argument("--photos", type=int, default=64, help="distinct CCSN photos to upload (default 64)")
    ap.add_argument("--phone", action="store_true", help="upload full-size 12-MP JPEGs instead")
    ap.add_argument("--cam", action="store_true", help="ask for the heat map too")
    args = ap.parse_args()

    if args.phone:
        tmp = Path(tempfile.mkdtemp())
        photos = [(f"phone{i}.jpg", phone_photo(tmp / f"phone{i}.jpg", seed=i).read_bytes()) for i in range(4)]
    else:
        paths = sorted(CCSN.glob("*/*.jpg"))
        if not paths:
            sys.exit(f"no photos under {CCSN} (set CLOUDATLAS_SHARED_DATA)")
        paths = paths[:: max(1, len(paths) // args.photos)][: args.photos]
        photos = [(p.name, p.read_bytes()) for p in paths]

    proc = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        proc, url = start_server(args.model, args.workers)
    try:
        health = httpx.get(url + "/healthz", timeout=10).json()
        asyncio.run(run_clients(url, photos, min(args.clients, 4), 2, args.cam))  # warm-up, not counted
        before = rss_mb(proc.pid) if proc and args.workers == 1 else None
        latencies, errors, elapsed = asyncio.run(run_clients(url, photos, args.clients, args.duration, args.cam))
        after = rss_mb(proc.pid) if proc and args.workers == 1 else None
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=15)

    latencies.sort()
    kind = "12-MP JPEGs" if args.phone else f"{len(photos)} CCSN photos"
    print(f"server: {url}  model {health['model']['name']} {health['model']['version']}"
          f"  gate: {'yes' if health['gate'] else 'no'}  cpus: {os.cpu_count()}")
    print(f"load: {args.clients} concurrent clients for {elapsed:.1f} s, uploading {kind}"
          f"{' with heat map' if args.cam else ''}")
    if not latencies:
        print(f"no successful requests; errors: {errors}")
        sys.exit(1)
    print(f"requests:   {len(latencies)} ok, {sum(errors.values())} failed {errors or ''}")
    print(f"throughput: {len(latencies) / elapsed:.1f} requests/s")
    print(f"latency:    p50 {percentile(latencies, 0.50) * 1000:.0f} ms   p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
          f"   p99 {percentile(latencies, 0.99) * 1000:.0f} ms   mean {statistics.mean(latencies) * 1000:.0f} ms")
    if before is not None and after is not None:
        print(f"server memory: {before:.0f} MB -> {after:.0f} MB over {len(latencies) + sum(errors.values())} requests")


if __name__ == "__main__":
    main()
