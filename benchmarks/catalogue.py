"""A catalogue like a radiology group's, for benchmarks: deterministic, and
loaded straight into SQLite or PostgreSQL (as a restore or a COPY would),
so that tim builds its search index from the tables when it opens them.

By default: 1,000,000 images over five years, 10,000 tags whose popularity
follows Zipf's law (the commonest is on about half the images), 1 to 8 tags
an image (4.2 on average; 2% of images have none yet), 90% of images uploaded; tag names in mixed case,
some with `_` and non-ASCII letters; about 12% of tags start with "lung"
and 7% contain "ray", as a search by pattern would meet them.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from attrs import frozen

FIVE_YEARS = 5 * 365 * 86_400
END = 1_764_000_000  # about the end of November 2025
ZIPF_EXPONENT = 1.1
TAGS_PER_IMAGE_WEIGHTS = [11, 14, 15, 16, 15, 12, 10, 7]  # 1..8 distinct tags, 4.2 on average
UNTAGGED = 0.02  # not yet looked at

ORGANS = ["chest", "heart", "liver", "brain", "knee", "spine", "hip", "kidney", "Straße", "pulmón", "cœur", "Ödem"]
FINDINGS = ["nodule", "effusion", "fracture", "mass", "opacity", "edema", "stent", "calcification", "normal", "artifact"]
LUNG = ["lung", "Lung", "LUNG", "lung_left", "Lunge", "lungs", "Lung_right"]
RAY = ["X-ray", "x_ray", "gray zone", "Array", "RAY", "ray-traced", "Xray"]
CREATORS = ["ana", "bo", "chen", "dana", "import-bot"]


@frozen
class Catalogue:
    tags: list[str]  # by tag id - 1
    # (id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp), by id
    images: list[tuple]
    links: list[tuple[int, int]]  # (image id, tag id)

    @classmethod
    def generate(cls, images: int = 1_000_000, tags: int = 10_000, seed: int = 8) -> Catalogue:
        chance = random.Random(seed)
        names = tag_names(tags, chance)
        popularity = list(range(tags))
        chance.shuffle(popularity)  # popular tags fall in every family
        weights = list(itertools.accumulate(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(tags)))
        by_rank = sorted(range(tags), key=popularity.__getitem__)
        rows, links = [], []
        step = FIVE_YEARS / images
        for image_id in range(1, images + 1):
            created = END - FIVE_YEARS + int(image_id * step) + chance.randrange(2)  # some share a second
            uploaded = created + chance.randrange(1, 60) if chance.random() < 0.9 else None
            creator = CREATORS[min(int(chance.expovariate(1.2)), len(CREATORS) - 1)]
            rows.append((image_id, f"scan-{image_id:07d}.dcm", 35_000_000, creator, created, f"{image_id:032x}", uploaded))
            count = chance.choices(range(1, 9), TAGS_PER_IMAGE_WEIGHTS)[0] if chance.random() > UNTAGGED else 0
            ranks: set[int] = set()
            while len(ranks) < count:
                ranks.update(chance.choices(range(tags), cum_weights=weights, k=count - len(ranks)))
            links.extend((image_id, by_rank[rank] + 1) for rank in ranks)
        return cls(names, rows, links)

    def most_used(self, count: int) -> list[str]:
        uses: dict[int, int] = {}
        for _, tag_id in self.links:
            uses[tag_id] = uses.get(tag_id, 0) + 1
        return [self.tags[tag_id - 1] for tag_id in sorted(uses, key=uses.__getitem__, reverse=True)[:count]]


def tag_names(count: int, chance: random.Random) -> list[str]:
    names: dict[str, None] = {}
    while len(names) < count:
        family = len(names) % 100
        number = len(names)
        if family < 12:
            name = f"{chance.choice(LUNG)} {chance.choice(FINDINGS)} {number}"
        elif family < 19:
            name = f"{chance.choice(RAY)} {chance.choice(ORGANS)} {number}"
        else:
            name = f"{chance.choice(ORGANS)}_{chance.choice(FINDINGS)} {number}"
        names[name.upper() if family % 7 == 0 else name] = None
    return list(names)


def load_sqlite(catalogue: Catalogue, path: Path) -> None:
    """Into a new file with tim's schema, bypassing tim (and its change feed)."""
    from tim.adapters.sqlite.schema import open_migrated

    open_migrated(path).close()
    created = {row[0]: row[4] for row in catalogue.images}
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO tags (id, name, folded) VALUES (?, ?, ?)",
            ((n + 1, name, name.casefold()) for n, name in enumerate(catalogue.tags)),
        )
        db.executemany(
            "INSERT INTO images (id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            catalogue.images,
        )
        db.executemany(
            "INSERT INTO image_tags (image_id, tag_id, created_timestamp) VALUES (?, ?, ?)",
            ((image_id, tag_id, created[image_id]) for image_id, tag_id in catalogue.links),
        )
        db.execute("COMMIT")
        db.execute("ANALYZE")


def load_postgres(catalogue: Catalogue, url: str) -> None:
    """Into a database with tim's schema, by COPY (bypassing the change feed)."""
    import psycopg

    from tim.adapters.postgres.repository import PostgresRepository

    PostgresRepository.open(url).close()
    with psycopg.connect(url) as conn:
        with conn.cursor() as cursor:
            with cursor.copy("COPY tags (id, name, folded_name) FROM STDIN") as copy:
                for n, name in enumerate(catalogue.tags):
                    copy.write_row((n + 1, name, name.casefold()))
            with cursor.copy(
                "COPY images (id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp) FROM STDIN"
            ) as copy:
                for row in catalogue.images:
                    copy.write_row(row)
            with cursor.copy("COPY image_tags (image_id, tag_id) FROM STDIN") as copy:
                for link in catalogue.links:
                    copy.write_row(link)
            # Ids go on after the loaded ones, as after a restore.
            cursor.execute("SELECT setval(pg_get_serial_sequence('images', 'id'), (SELECT max(id) FROM images))")
            cursor.execute("SELECT setval(pg_get_serial_sequence('tags', 'id'), (SELECT max(id) FROM tags))")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A new database on the server for the length of a `with`-less generator:
    next() gives its URL; closing the generator drops it."""
    import secrets
    from urllib.parse import urlsplit

    import psycopg
    from psycopg import sql

    name = f"tim_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed(label: str):
    """A context manager that prints how long its block took."""

    class Timer:
        def __enter__(self):
            self.began = time.perf_counter()
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.began
            print(f"{label}: {self.seconds:.1f} s", flush=True)

    return Timer()
