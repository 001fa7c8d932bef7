"""`tim import` and `tim export` throughput, and export's memory as the
catalogue grows.

    .venv/bin/python benchmarks/ingest.py [--files 10000] [--jobs 1,4] [--records 10000,100000]

1. Writes --files small distinct PNG files (about 1-2 KB each) to a folder.
2. Imports them with `tim import FOLDER --jobs N` into fresh local stores
   (SQLite and files in a data directory, as `tim serve` keeps them) for
   each N; prints files/s and MB/s, and each N's speed-up over the first.
3. Imports them again (every file a duplicate: hashed and looked up only).
4. Exports them all with `tim export`, then again (every file present).
5. Exports catalogues of each --records size (rows loaded straight into
   SQLite, every file a hard link to one small file) and prints the peak
   memory of each `tim export` process: flat, whatever the record count.
Run it on a quiet machine; the defaults take a few minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from PIL import Image

TIM = Path(sys.executable).with_name("tim")
LINKS_PER_FILE = 50_000


def write_files(folder: Path, count: int) -> int:
    """`count` distinct small PNGs in folders of 1,000; their total size."""
    total = 0
    for number in range(count):
        picture = Image.new("L", (32, 32), number % 256)
        picture.putpixel((number % 32, (number // 32) % 32), 255 - number % 256)
        picture.putpixel((0, 0), (number // 256) % 256)
        picture.putpixel((1, 0), (number // 65536) % 256)
        out = io.BytesIO()
        picture.save(out, "PNG", compress_level=0)
        path = folder / f"batch-{number // 1000:03}" / f"{number:06}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out.getvalue())
        total += len(out.getvalue())
    return total


def run(*args: str, data_dir: Path) -> tuple[float, str, int]:
    """`tim ARGS` on the data directory: seconds, stdout, and the peak of its
    anonymous memory in MiB (RSS less the pages of files it maps: SQLite
    reads through a memory map of the database, which is the page cache)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIM_")} | {"TIM_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen([str(TIM), *args], env=env, stdout=output, stderr=subprocess.DEVNULL, text=True)
        peak = 0
        while child.poll() is None:
            peak = max(peak, anonymous_kib(child.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if child.returncode != 0:
        raise SystemExit(f"tim {' '.join(args)} failed:\n{text}")
    return seconds, text.splitlines()[0], peak // 1024


def anonymous_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def load_records(data_dir: Path, count: int, scratch: Path) -> None:
    """`count` uploaded records in a new SQLite file, each file a hard link to one PNG."""
    from tim.adapters.sqlite.schema import open_migrated

    data = (scratch / "one.png").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    open_migrated(data_dir / "tim.db").close()
    objects = data_dir / "files" / "objects"
    with closing(sqlite3.connect(data_dir / "tim.db", isolation_level=None)) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO images (id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp,"
            " sha256, content_type) VALUES (?, ?, ?, 'bench', ?, ?, ?, ?, 'image/png')",
            ((n, f"scan-{n:07}.png", len(data), 1_700_000_000 + n, f"{n:032x}", 1_700_000_000 + n, digest) for n in range(1, count + 1)),
        )
        db.execute("COMMIT")
    for n in range(1, count + 1):
        key = f"{n:032x}"
        (objects / key[:2]).mkdir(parents=True, exist_ok=True)
        source = scratch / f"one-{count}-{n // LINKS_PER_FILE}.png"  # a file takes at most 65,000 links (ext4)
        if not source.exists():
            source.write_bytes(data)
        os.link(source, objects / key[:2] / key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--jobs", default="1,4")
    parser.add_argument("--records", default="10000,100000")
    arguments = parser.parse_args()
    jobs = [int(n) for n in arguments.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="tim-ingest-") as folder:
        scratch = Path(folder)
        source = scratch / "incoming"
        total = write_files(source, arguments.files)
        print(f"{arguments.files} PNG files, {total / 1e6:.1f} MB ({total // arguments.files} bytes each on average)")
        first = None
        for count in jobs:
            data_dir = scratch / f"data-{count}"
            seconds, line, rss = run("import", str(source), "--jobs", str(count), data_dir=data_dir)
            rate = arguments.files / seconds
            first = first or rate
            print(
                f"import --jobs {count}: {seconds:.1f} s, {rate:.0f} files/s, {total / 1e6 / seconds:.1f} MB/s "
                f"({rate / first:.2f}x --jobs {jobs[0]}); peak anonymous RSS {rss} MiB\n    {line}"
            )
        data_dir = scratch / f"data-{jobs[-1]}"
        seconds, line, _ = run("import", str(source), "--jobs", str(jobs[-1]), data_dir=data_dir)
        print(f"import again (all duplicates): {seconds:.1f} s, {arguments.files / seconds:.0f} files/s\n    {line}")
        for label in ("export", "export again (all present)"):
            seconds, line, rss = run("export", "--to", str(scratch / "out"), "--jobs", str(jobs[-1]), data_dir=data_dir)
            print(f"{label}: {seconds:.1f} s, {arguments.files / seconds:.0f} files/s; peak anonymous RSS {rss} MiB\n    {line}")
        (scratch / "one.png").write_bytes((source / "batch-000" / "000000.png").read_bytes())
        peaks = []
        for count in (int(n) for n in arguments.records.split(",")):
            data_dir = scratch / f"records-{count}"
            load_records(data_dir, count, scratch)
            seconds, line, rss = run("export", "--to", str(scratch / f"out-{count}"), "--jobs", "4", data_dir=data_dir)
            peaks.append(rss)
            print(f"export of {count} records: {seconds:.1f} s, {count / seconds:.0f} files/s; peak anonymous RSS {rss} MiB")
        print(f"peak anonymous RSS, largest export / smallest: {peaks[-1] / peaks[0]:.2f}")


if __name__ == "__main__":
    main()
