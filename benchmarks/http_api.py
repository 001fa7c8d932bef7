"""The HTTP API at a million images: latency, throughput beside a bare
Starlette app, and the server's memory during a 1 GiB upload.

    .venv/bin/python benchmarks/http_api.py [--images 1000000] [--tags 10000] [--seconds 10]

Loads the catalogue of benchmarks/catalogue.py into a SQLite data directory
(records only: listing does not read files), starts a real `tim serve` (one
worker) on it, and prints:
- p50/p95 latencies of typical reads, sequential, varied from request to
  request, curation's too (OR and NOT, autocomplete, pages after cursors)
  (target p50 < 20 ms);
- requests per second of `GET /v1/images?limit=100`, measured by wrk (16
  connections), side by side with a bare Starlette app (same uvicorn, same
  settings) that returns a body of the same size: target at least 50% of
  the bare app. Also, the same beside pages that vary: the first 20 pages,
  deep pages all over the catalogue (cold records), and tag searches;
- the growth of the server's resident memory while a 1 GiB file is PUT to
  a signed URL (target: under 64 MiB).
Needs wrk (Debian's package `wrk`). Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue import Catalogue, load_sqlite, timed  # noqa: E402

BIN = Path(sys.executable).parent
LATENCY_TARGET_MS = 20.0
THROUGHPUT_TARGET = 0.5
RSS_TARGET_MIB = 64.0
CONNECTIONS = 16

BARE_APP = """
from pathlib import Path
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = Path({body!r}).read_bytes()


def page(request):
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{{path:path}}", page)])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"{url} did not answer")


def serve_tim(data_dir: Path, port: int) -> subprocess.Popen:
    env = {"PATH": str(BIN), "TIM_ACCESS_LOG": str(data_dir.parent / "access.log")}
    server = subprocess.Popen(
        [BIN / "tim", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    wait_until_up(f"http://127.0.0.1:{port}/v1/openapi.json", server)
    return server


def serve_bare(folder: Path, body: bytes, port: int) -> subprocess.Popen:
    (folder / "body.json").write_bytes(body)
    (folder / "bare_app.py").write_text(BARE_APP.format(body=str(folder / "body.json")))
    server = subprocess.Popen(
        [BIN / "uvicorn", "bare_app:app", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}/", server)
    return server


def requests_per_second(origin: str, paths: list[str], seconds: int, scratch: Path) -> float:
    """wrk's figure, cycling through `paths` (each connection its own order)."""
    script = scratch / "paths.lua"
    quoted = ",\n".join(f'  "{path}"' for path in paths)
    script.write_text(
        textwrap.dedent(
            """
            paths = {
            %s
            }
            n = math.random(#paths)
            request = function()
              n = n %% #paths + 1
              return wrk.format("GET", paths[n])
            end
            """
        )
        % quoted
    )
    run = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), origin],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in run.stdout:
        sys.exit(f"wrk met errors:\n{run.stdout}")
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("Requests/sec:")]
    return float(line.split()[1])


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


def report_latency(name: str, timings: list[float]) -> bool:
    p50, p95 = statistics.median(timings), statistics.quantiles(timings, n=100)[94]
    print(f"  {name:<34} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p50/target {p50 / LATENCY_TARGET_MS:4.2f}")
    return p50 < LATENCY_TARGET_MS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """The resident memory of process `pid` before a block and at its peak during it."""

    def __init__(self, pid: int):
        self.pid = pid

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = rss_mib(self.pid)
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._sampler.join()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)

    def report(self) -> float:
        """Print the figures; the growth."""
        growth = self.peak - self.baseline
        print(
            f"  server RSS {self.baseline:.1f} MiB before, {self.peak:.1f} MiB at peak: growth {growth:.1f} MiB,"
            f" growth/target {growth / RSS_TARGET_MIB:4.2f}"
        )
        return growth


def upload_memory(client: httpx.Client, pid: int, size: int) -> bool:
    created = client.post("/images", json={"filename": "big.dcm", "size": size}).json()
    chunk = bytes(range(256)) * 4096  # 1 MiB, sent again and again: the client holds no file either

    def body():
        for _ in range(size // len(chunk)):
            yield chunk

    with PeakRss(pid) as memory:
        began = time.perf_counter()
        response = httpx.put(created["upload_url"], content=body(), headers={"Content-Length": str(size)}, timeout=600)
        elapsed = time.perf_counter() - began
    response.raise_for_status()
    print(f"  {size / 2**20:.0f} MiB PUT to a signed URL: {elapsed:.1f} s ({size / elapsed / 2**20:.0f} MiB/s)")
    growth = memory.report()
    client.delete(f"/images/{created['id']}").raise_for_status()
    return growth < RSS_TARGET_MIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="sequential requests for each latency")
    parser.add_argument("--seconds", type=int, default=10, help="how long wrk runs each throughput test")
    parser.add_argument("--upload-bytes", type=int, default=2**30)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="tim-bench-") as folder:
        scratch = Path(folder)
        with timed(f"generating {arguments.images:,} images and {arguments.tags:,} tags"):
            catalogue = Catalogue.generate(arguments.images, arguments.tags)
        data_dir = scratch / "data"
        data_dir.mkdir()
        with timed("loading SQLite"):
            load_sqlite(catalogue, data_dir / "tim.db")
        tim_port, bare_port = free_port(), free_port()
        with timed("starting tim serve (it builds its search index)"):
            server = serve_tim(data_dir, tim_port)
        bare = None
        met = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{tim_port}/v1", timeout=60) as client:
                newest = client.get("/images", params={"limit": 100})
                bare = serve_bare(scratch, newest.content, bare_port)
                common = catalogue.most_used(40)
                chance = random.Random(5)
                pages = arguments.images // 100
                deep = [f"/v1/images?limit=100&page={chance.randrange(pages)}" for _ in range(2_000)]
                searches = [
                    "/v1/search/images?" + str(httpx.QueryParams({"exact_tags": "|".join(chance.sample(common, 2))}))
                    for _ in range(500)
                ]

                print(f"\nHTTP latency, {arguments.requests} sequential requests each, varied (target p50 < {LATENCY_TARGET_MS:.0f} ms):")
                met.append(report_latency("list newest pages (0-9)", latencies(client, [f"/images?page={n}" for n in range(10)], arguments.requests)))
                met.append(report_latency("deep pages, all over", latencies(client, [p.removeprefix("/v1") for p in deep], arguments.requests)))
                met.append(report_latency("search, 2 common exact tags", latencies(client, [p.removeprefix("/v1") for p in searches], arguments.requests)))
                wildcards = [f"/search/images?match_tags={w}" for w in ("lung%25", "%25ray%25", "chest%25", "%25edema%25")]
                met.append(report_latency("search, wildcards", latencies(client, wildcards, arguments.requests)))
                operators = [
                    "/search/images?"
                    + str(httpx.QueryParams(any_tags="|".join(chance.sample(common, 2)), exclude_tags=chance.choice(common)))
                    for _ in range(500)
                ]
                met.append(report_latency("search, OR and NOT", latencies(client, operators, arguments.requests)))
                prefixes = [
                    "/tags?" + str(httpx.QueryParams(prefix=chance.choice(catalogue.tags)[: chance.randint(1, 3)], limit=10))
                    for _ in range(500)
                ]
                met.append(report_latency("autocomplete, 1-3 letters", latencies(client, prefixes, arguments.requests)))
                deep_pages = [client.get("/images", params={"page": chance.randrange(pages)}).json() for _ in range(50)]
                cursors = [page["meta"]["next_cursor"] for page in deep_pages]
                after = [f"/images?{httpx.QueryParams({'limit': 100, 'cursor': cursor})}" for cursor in cursors if cursor]
                met.append(report_latency("page after a cursor, all over", latencies(client, after, arguments.requests)))

                print(f"\nThroughput, wrk with {CONNECTIONS} connections for {arguments.seconds} s, one tim worker,"
                      f" beside a bare Starlette app returning the same {len(newest.content):,} bytes"
                      f" (target: {THROUGHPUT_TARGET:.0%} of the bare app's requests per second):")
                origin_tim, origin_bare = f"http://127.0.0.1:{tim_port}", f"http://127.0.0.1:{bare_port}"
                mixes = {
                    "GET /v1/images?limit=100": ["/v1/images?limit=100"],
                    "the first 20 pages": [f"/v1/images?limit=100&page={n}" for n in range(20)],
                    "deep pages all over (cold)": deep,
                    "2-tag searches, varied": searches,
                }
                for name, paths in mixes.items():
                    bare_rate = requests_per_second(origin_bare, ["/v1/images"], arguments.seconds, scratch)
                    tim_rate = requests_per_second(origin_tim, paths, arguments.seconds, scratch)
                    ratio = tim_rate / bare_rate
                    if name.startswith("GET"):
                        met.append(ratio >= THROUGHPUT_TARGET)
                    print(f"  {name:<30} tim {tim_rate:7.0f}/s  bare {bare_rate:7.0f}/s  ratio {ratio:4.2f}")

                print("\nMemory while streaming an upload (target growth < 64 MiB):")
                met.append(upload_memory(client, server.pid, arguments.upload_bytes))
        finally:
            for process in (server, bare):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
    print(f"\n{sum(met)} of {len(met)} targets met" + ("" if all(met) else ": NOT ALL"))


if __name__ == "__main__":
    main()
