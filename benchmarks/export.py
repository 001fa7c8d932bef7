"""Export over HTTP at a million images: the rate, tenth by tenth, and the
server's memory while it streams.

    .venv/bin/python benchmarks/export.py [--images 1000000] [--tags 10000]

Loads the catalogue of benchmarks/catalogue.py into a SQLite data directory
(records only), starts a real `tim serve` (one worker) on it, and streams
`GET /v1/export/images` to the end, twice: every image, then one common
tag's images. For each it prints:
- records per second over each tenth of the export: steady means the
  slowest tenth runs at least half as fast as the fastest (target);
- the growth of the server's resident memory from before the export to its
  peak during it (target: under 64 MiB, flat however many records).
Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue import Catalogue, load_sqlite, timed  # noqa: E402
from http_api import RSS_TARGET_MIB, PeakRss, free_port, serve_tim  # noqa: E402

STEADY_TARGET = 0.5


def export(origin: str, pid: int, params: dict, expected: int) -> list[bool]:
    tenth = max(1, expected // 10)
    marks, count = [time.perf_counter()], 0
    with PeakRss(pid) as memory:
        with httpx.stream("GET", f"{origin}/v1/export/images", params=params, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                before = count
                count += chunk.count(b"\n")
                if count // tenth > before // tenth:
                    marks.append(time.perf_counter())
    if count != expected:
        sys.exit(f"the export sent {count:,} records, not {expected:,}")
    elapsed = marks[-1] - marks[0]
    rates = [tenth / (b - a) for a, b in zip(marks, marks[1:])][:10]
    steadiness = min(rates) / max(rates)
    print(f"  {count:,} records in {elapsed:.1f} s: {count / elapsed:,.0f} records/s")
    print(f"  per tenth (records/s): {', '.join(f'{rate:,.0f}' for rate in rates)}")
    print(f"  slowest/fastest tenth {steadiness:.2f} (target at least {STEADY_TARGET})")
    return [steadiness >= STEADY_TARGET, memory.report() < RSS_TARGET_MIB]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=10_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tim-bench-") as folder:
        with timed(f"generating {arguments.images:,} images and {arguments.tags:,} tags"):
            catalogue = Catalogue.generate(arguments.images, arguments.tags)
        data_dir = Path(folder) / "data"
        data_dir.mkdir()
        with timed("loading SQLite"):
            load_sqlite(catalogue, data_dir / "tim.db")
        port = free_port()
        with timed("starting tim serve (it builds its search index)"):
            server = serve_tim(data_dir, port)
        origin, met = f"http://127.0.0.1:{port}", []
        try:
            print("\nExport of every image:")
            met += export(origin, server.pid, {}, len(catalogue.images))
            common = catalogue.most_used(1)[0]
            tagged = httpx.get(f"{origin}/v1/search/images", params={"exact_tags": common, "limit": 1}).json()
            print(f"\nExport of one common tag's images ({common!r}):")
            met += export(origin, server.pid, {"exact_tags": common}, tagged["meta"]["total_results"])
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\n{sum(met)} of {len(met)} targets met" + ("" if all(met) else ": NOT ALL"))


if __name__ == "__main__":
    main()
