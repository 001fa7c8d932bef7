"""Search latency at a million images, on SQLite and PostgreSQL side by side.

    .venv/bin/python benchmarks/search.py [--images 1000000] [--tags 10000] [--runs 200]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--only sqlite|postgres]

Generates the catalogue of benchmarks/catalogue.py, loads it into a SQLite
file and into a throw-away PostgreSQL database (dropped at the end), opens
each with `tim.open(...)` (records in the database, files in memory: files
play no part in a search) and prints, for each database:
- the search index's build time (target < 5 s) and memory (target < 64 MiB);
- p50 and p95 of a mix of searches, each with its exact total, warm (the
  index keeps the records it lately served) and cold (every record read from
  the database), every one varied from run to run (other tags, other pages, other dates, other
  cursors), as users vary them, with the curation operators (NOT, OR,
  untagged, a page after a cursor) and tag autocomplete (the 10,000 tags by
  prefix, most used first); target: every p50 under 10 ms;
- what catching up costs: a search when nothing changed, and one after
  another process changed one image.
Run it on a quiet machine; it takes some minutes (most of it loading).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tim  # noqa: E402
from catalogue import END, Catalogue, load_postgres, load_sqlite, throwaway_postgres, timed  # noqa: E402
from tim.domain.model.search import ImageQuery  # noqa: E402

LATENCY_TARGET_MS = 10.0
BUILD_TARGET_SECONDS = 5.0
MEMORY_TARGET_MIB = 64.0
DAY = 86_400


def rss_mib(kind: str = "RssAnon") -> float:
    """Resident memory of this process: by default its own (anonymous)
    memory, leaving out the file pages of SQLite's memory map, which the
    operating system's cache holds anyway."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {kind}")


def settled_rss_mib() -> float:
    """Anonymous RSS after garbage collection and handing freed heap back to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return rss_mib()


def searches(catalogue: Catalogue, chance: random.Random) -> dict[str, Callable[[], dict]]:
    """Each kind of search as a function drawing new arguments every run."""
    common = catalogue.most_used(60)
    top = common[:10]

    def month() -> dict:
        start = chance.randrange(END - 5 * 365 * DAY, END - 30 * DAY)
        return {"start_timestamp": start, "end_timestamp": start + 30 * DAY}

    return {
        "newest page": lambda: {"page": chance.randrange(3)},
        "page 5000 (offset 500,000)": lambda: {"page": chance.randrange(4_990, 5_010)},
        "uploaded_only, newest": lambda: {"uploaded_only": True, "page": chance.randrange(3)},
        "a tag's images (a top-10 tag)": lambda: {"tag": chance.choice(top), "page": chance.randrange(3)},
        "2 common exact tags": lambda: {"exact_tags": chance.sample(common[:20], 2)},
        "3 exact tags": lambda: {"exact_tags": chance.sample(common[:12], 3)},
        "match_tags=lung% (and others)": lambda: {"match_tags": chance.choice(["lung%", "LUNG%", "lung %", "lunge%"])},
        "match_tags=%ray% (and others)": lambda: {"match_tags": chance.choice(["%ray%", "%RAY%", "%x_ray%", "%ray %"])},
        "30-day range + 1 common tag": lambda: {"exact_tags": [chance.choice(common[:20])], **month()},
        "exclude one common tag": lambda: {"exclude_tags": [chance.choice(top)], "page": chance.randrange(3)},
        "any of three tags": lambda: {"any_tags": chance.sample(common, 3)},
        "untagged": lambda: {"untagged": True},
        "exclude_match_tags=lung% + a tag": lambda: {
            "exact_tags": [chance.choice(common[:20])],
            "exclude_match_tags": [chance.choice(["lung%", "%ray%", "chest%"])],
        },
        "any of 2, exclude 1, uploaded": lambda: {
            "any_tags": chance.sample(common[:20], 2),
            "exclude_tags": [chance.choice(top)],
            "uploaded_only": True,
        },
        "page after a cursor, anywhere": lambda: {"after": chance.choice(catalogue.images)},
        "autocomplete, 1-3 letters": lambda: {"prefix": chance.choice(catalogue.tags)[: chance.randint(1, 3)], "limit": 10},
        "autocomplete, empty prefix": lambda: {"prefix": "", "limit": 10},
    }


def run(images, arguments: dict) -> int:
    arguments = dict(arguments)
    tag = arguments.pop("tag", None)
    if tag is not None:
        return images.list_tag_images(TAG_IDS[tag], **arguments).total_results
    if "prefix" in arguments:
        return images.list_tags(**arguments).total_results
    after = arguments.pop("after", None)
    if after is not None:  # an image row: a cursor as a walk through every image would hold at it
        arguments["cursor"] = images.ports.cursors.seal((after[4], after[0]), ImageQuery().scope)
    if any(key in arguments for key in SEARCH_TERMS):
        return images.search_images(**arguments).total_results
    return images.list_images(**arguments).total_results


TAG_IDS: dict[str, int] = {}
SEARCH_TERMS = ("exact_tags", "match_tags", "any_tags", "exclude_tags", "exclude_match_tags", "untagged")


def measure(label: str, url: str, catalogue: Catalogue, runs: int) -> list[bool]:
    print(f"\n{label}")
    before = settled_rss_mib()
    images = tim.open(url)
    opened = settled_rss_mib()
    began = time.perf_counter()
    images.refresh_index()
    build = time.perf_counter() - began
    memory = settled_rss_mib() - opened
    print(f"  index build from the tables: {build:.2f} s (target {BUILD_TARGET_SECONDS:.0f} s, ratio {build / BUILD_TARGET_SECONDS:.2f})")
    print(
        f"  index memory (growth of the process's own resident memory): {memory:.1f} MiB (target {MEMORY_TARGET_MIB:.0f} MiB,"
        f" ratio {memory / MEMORY_TARGET_MIB:.2f}); the whole process {settled_rss_mib():.0f} MiB, {before:.0f} before opening"
        f" (the generated catalogue is in it)"
    )
    TAG_IDS.clear()
    for number in range(0, 200):
        page = images.list_tags(page=number)
        TAG_IDS.update({tag.name: tag.id for tag in page.results})
        if not page.has_more_pages:
            break
    met = [build < BUILD_TARGET_SECONDS, memory < MEMORY_TARGET_MIB]
    chance = random.Random(11)
    print(
        f"  {'search':<32} {'p50':>8} {'p95':>8} {'cold p50':>9} {'cold p95':>9} {'worst p50/target':>17}"
        "   total (of the last run)"
    )
    for name, draw in searches(catalogue, chance).items():
        for _ in range(5):
            run(images, draw())  # warm-up
        warm, total = timings(images, draw, runs)
        # Cold: the index keeps the records it lately served (see postings/recent.py);
        # forgotten before each run, every record comes from the database.
        cold, _ = timings(images, draw, runs, before=images.ports.index.forget_records)
        p50, p95 = statistics.median(warm), statistics.quantiles(warm, n=100)[94]
        cold_p50, cold_p95 = statistics.median(cold), statistics.quantiles(cold, n=100)[94]
        worst = max(p50, cold_p50) / LATENCY_TARGET_MS
        met.append(worst < 1)
        print(f"  {name:<32} {p50:6.2f}ms {p95:6.2f}ms {cold_p50:7.2f}ms {cold_p95:7.2f}ms {worst:17.2f}   {total:,}")
    catch_up(images, url)
    images.close()
    return met


def timings(images, draw: Callable[[], dict], runs: int, before: Callable[[], None] = lambda: None) -> tuple[list[float], int]:
    """Milliseconds of `runs` searches, each with new arguments; and the last one's total."""
    elapsed, total = [], 0
    for _ in range(runs):
        arguments = draw()
        before()
        began = time.perf_counter()
        total = run(images, arguments)
        elapsed.append((time.perf_counter() - began) * 1000)
    return elapsed, total


def catch_up(images, url: str) -> None:
    """The cost of a search when nothing changed, and after one image changed
    in another process (here: another ImageManager, with its own index)."""
    other = tim.open(url)
    try:
        quiet, after_change = [], []
        for n in range(50):
            began = time.perf_counter()
            images.list_images(limit=1)
            quiet.append((time.perf_counter() - began) * 1000)
            other.upload_image(created_by="bench", filename="new.dcm", data=b"x", tags=["catch-up", f"n{n}"])
            began = time.perf_counter()
            images.list_images(limit=1)
            after_change.append((time.perf_counter() - began) * 1000)
        print(
            f"  catching up: a 1-image page when nothing changed p50 {statistics.median(quiet):.2f} ms;"
            f" after another process added one image p50 {statistics.median(after_change):.2f} ms"
        )
    finally:
        other.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("TIM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    arguments = parser.parse_args()

    with timed(f"generating {arguments.images:,} images and {arguments.tags:,} tags"):
        catalogue = Catalogue.generate(arguments.images, arguments.tags)
    print(f"  {len(catalogue.links):,} image-tag links, {len(catalogue.links) / len(catalogue.images):.2f} an image")
    met = []
    with tempfile.TemporaryDirectory(prefix="tim-bench-") as scratch:
        if arguments.only in (None, "sqlite"):
            path = Path(scratch) / "tim.db"
            with timed("loading SQLite"):
                load_sqlite(catalogue, path)
            met += measure("SQLite", f"sqlite:///{path}", catalogue, arguments.runs)
        if arguments.only in (None, "postgres"):
            database = throwaway_postgres(arguments.postgres)
            url = next(database)
            try:
                with timed("loading PostgreSQL"):
                    load_postgres(catalogue, url)
                met += measure("PostgreSQL", url, catalogue, arguments.runs)
            finally:
                database.close()
    print(f"\n{sum(met)} of {len(met)} targets met" + ("" if all(met) else ": NOT ALL"))


if __name__ == "__main__":
    main()
