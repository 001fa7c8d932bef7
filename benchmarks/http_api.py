"""Latency of the HTTP API on SQLite, and the server's memory during a 1 GiB upload.

    .venv/bin/python benchmarks/http_api.py [--images 100000] [--tags 2000] [--requests 300]

Builds a data directory (records only: list and search latency does not
depend on the files), starts a real `tim serve` on it, and prints p50/p95
latencies of four typical reads next to the 20 ms target, then the growth of
the server's resident memory while a 1 GiB file is PUT to a signed URL
(target: under 64 MiB). Figures depend on the machine; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tim.domain.model.images import NewImage, new_blob_key
from tim.entrypoints.bootstrap import Config, build_manager

TIM = Path(sys.executable).with_name("tim")
START = 1_700_000_000
LATENCY_TARGET_MS = 20.0
RSS_TARGET_MIB = 64.0


def populate(data_dir: Path, images: int, tags: int, seed: int = 7) -> None:
    random.seed(seed)
    names = [f"tag-{n:04d}" for n in range(tags - 3)] + ["Chest", "chest X-ray", "Straße"]
    weights = [1 / (rank + 1) for rank in range(len(names))]  # a few tags are on many images
    manager = build_manager(Config(database_url=f"sqlite:///{data_dir / 'tim.db'}", data_dir=str(data_dir)))
    repository = manager.repository
    started = time.perf_counter()
    for n in range(images):
        created = START + n * 30 + random.randrange(30)
        repository.add_image(
            NewImage(
                filename=f"scan-{n:06d}.dcm",
                size=35_000_000,
                created_by="bench",
                created_timestamp=created,
                blob_key=new_blob_key(),
                tag_names=tuple(set(random.choices(names, weights, k=random.randint(1, 5)))),
                uploaded_timestamp=created + 5 if n % 10 else None,
            )
        )
    manager.close()
    print(f"populated {images} images with {tags} tags in {time.perf_counter() - started:.0f} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [TIM, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/openapi.json", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    sys.exit("tim serve did not start")


def latencies(client: httpx.Client, paths: list[str], count: int) -> list[float]:
    for path in paths[:20]:
        client.get(path).raise_for_status()  # warm-up
    timings = []
    for n in range(count):
        began = time.perf_counter()
        response = client.get(paths[n % len(paths)])
        timings.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return timings


def report_latency(name: str, timings: list[float]) -> None:
    cuts = statistics.quantiles(timings, n=100)
    p50, p95 = statistics.median(timings), cuts[94]
    print(f"  {name:<32} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p50/target {p50 / LATENCY_TARGET_MS:4.2f}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def upload_memory(client: httpx.Client, pid: int, size: int) -> None:
    created = client.post("/images", json={"filename": "big.dcm", "size": size}).json()
    chunk = bytes(range(256)) * 4096  # 1 MiB, sent again and again: the client holds no file either
    baseline = rss_mib(pid)
    peak, done = baseline, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mib(pid))
            time.sleep(0.02)

    def body():
        for _ in range(size // len(chunk)):
            yield chunk

    sampler = threading.Thread(target=sample)
    sampler.start()
    began = time.perf_counter()
    response = httpx.put(created["upload_url"], content=body(), headers={"Content-Length": str(size)}, timeout=600)
    elapsed = time.perf_counter() - began
    done.set()
    sampler.join()
    response.raise_for_status()
    growth = peak - baseline
    print(f"  {size / 2**20:.0f} MiB PUT to a signed URL: {elapsed:.1f} s ({size / elapsed / 2**20:.0f} MiB/s)")
    print(f"  server RSS {baseline:.1f} MiB before, {peak:.1f} MiB at peak: growth {growth:.1f} MiB, growth/target {growth / RSS_TARGET_MIB:4.2f}")
    client.delete(f"/images/{created['id']}").raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--upload-bytes", type=int, default=2**30)
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) a populated data directory")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tim-bench-") as scratch:
        data_dir = arguments.data_dir or Path(scratch) / "data"
        if not (data_dir / "tim.db").exists():
            populate(data_dir, arguments.images, arguments.tags)
        port = free_port()
        server = serve(data_dir, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=60) as client:
                tags = client.get("/tags", params={"limit": 100}).json()["results"]
                tag_ids = [tag["id"] for tag in tags]
                sample = client.get("/images", params={"limit": 100}).json()["results"]
                pairs = [img["tags"][:2] for img in sample if len(img["tags"]) >= 2]
                print(f"HTTP latency, {arguments.requests} sequential requests each, limit 100 (target p50 < {LATENCY_TARGET_MS:.0f} ms):")
                report_latency("list newest page", latencies(client, ["/images"], arguments.requests))
                report_latency("a tag's images", latencies(client, [f"/tags/{i}/images" for i in tag_ids], arguments.requests))
                exact = [f"/search/images?exact_tags={a['name']}|{b['name']}" for a, b in pairs]
                report_latency("search, 2 exact tags", latencies(client, exact, arguments.requests))
                wildcard = [f"/search/images?match_tags=tag-{n:02d}%25" for n in range(20)]
                report_latency("search, wildcard tag-NN%", latencies(client, wildcard, arguments.requests))
                print("Memory while streaming an upload (target growth < 64 MiB):")
                upload_memory(client, server.pid, arguments.upload_bytes)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
