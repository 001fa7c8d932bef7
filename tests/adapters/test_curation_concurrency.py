"""Curation under concurrency, with real threads on every repository (each
thread its own connection for SQLite and PostgreSQL): edits that lose no
update, a bulk edit racing a delete, a merge racing an upload that names the
merged tag, and a walk by cursor through a 100,000-image search while other
clients insert and delete."""

import random
import secrets
import sqlite3
import threading
import time
from contextlib import closing

import psycopg
import pytest

from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.postgres.repository import PostgresRepository
from tim.adapters.signed_urls import UrlSigner
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.errors import ImagesNotFound
from tim.domain.model.images import NewImage
from tim.entrypoints.bootstrap import assemble

CLIENTS = 20
ROUNDS = 12
WALKED = 100_000


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def kind(request):
    return request.param


@pytest.fixture
def catalogue(kind, tmp_path, request):
    """A fresh repository of the kind, wide enough for CLIENTS threads at once."""
    if kind == "memory":
        repository = MemoryRepository()
    elif kind == "sqlite":
        repository = SqliteRepository.open(tmp_path / "tim.db")
    else:
        with request.getfixturevalue("postgres_repositories")():  # empties the database
            pass
        url = request.getfixturevalue("postgres_repository_url")
        repository = PostgresRepository.open(url, max_connections=CLIENTS + 4)
    yield repository
    repository.close()


@pytest.fixture
def tim(catalogue):
    return assemble(catalogue, MemoryBlobStore(UrlSigner(b"concurrency-tests-secret-0123456", "http://tim.test/v1/blobs")))


def together(*work):
    """Run each callable on its own thread, released at one moment; what each returned or raised."""
    start = threading.Barrier(len(work))
    outcomes = [None] * len(work)

    def run(n):
        start.wait()
        try:
            outcomes[n] = work[n]()
        except Exception as error:  # noqa: BLE001 - returned to the caller, which asserts on it
            outcomes[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def names(image):
    return {tag.name for tag in image.tags}


def test_twenty_clients_adding_different_tags_to_one_image_keep_all_twenty(tim):
    image = tim.upload_image(created_by="ana", filename="a.png", data=b"x", tags=["first"])
    outcomes = together(
        *(lambda n=n: tim.edit_image_tags(image.id, add=[f"tag {n}"], by=f"client {n}") for n in range(CLIENTS))
    )
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert names(tim.get_image(image.id)) == {"first"} | {f"tag {n}" for n in range(CLIENTS)}
    tagged = [event for event in tim.image_history(image.id) if event.action == "tagged"]
    expected = [(f"client {n}", (f"tag {n}",)) for n in range(CLIENTS)]
    assert sorted((event.by, event.added) for event in tagged) == sorted(expected)


def test_a_bulk_edit_racing_a_delete_is_applied_before_it_or_not_at_all(tim):
    seen = set()
    for round_number in range(ROUNDS):
        images = [tim.upload_image(created_by="a", filename="a", data=b"x", tags=[f"r{round_number}"]) for _ in range(30)]
        ids, victim = [image.id for image in images], images[random.Random(round_number).randrange(30)].id
        done = f"done {round_number}"
        edited, deleted = together(
            lambda: tim.edit_tags_of_images(ids=ids, add=[done], by="bulk"), lambda: tim.delete_image(victim, by="rm")
        )
        assert deleted is None  # the delete always succeeds
        survivors = [tim.get_image(image_id) for image_id in ids if image_id != victim]
        if isinstance(edited, ImagesNotFound):
            seen.add("refused")
            assert edited.ids == (victim,)
            assert not any(done in names(image) for image in survivors)
            assert done not in {tag.name for tag in tim.list_tags(limit=100).results}  # not even made
        else:
            seen.add("applied")
            assert edited == 30 and all(done in names(image) for image in survivors)
            last_two = tim.image_history(victim)[:2]
            assert [(e.action, e.added, e.removed) for e in last_two] == [
                ("deleted", (), tuple(sorted([f"r{round_number}", done], key=lambda n: (n.casefold(), n)))),
                ("tagged", (done,), ()),
            ]
    assert seen  # which outcomes occur depends on timing: both are correct


def test_a_merge_racing_an_upload_that_names_the_old_tag_ends_with_the_surviving_tag(tim):
    for round_number in range(ROUNDS):
        old, new = tim.create_tag(f"old {round_number}"), tim.create_tag(f"new {round_number}")
        merged, uploaded = together(
            lambda: tim.merge_tags(old.id, into=new.id, by="curator"),
            lambda: tim.upload_image(created_by="a", filename="a", data=b"x", tags=[old.name, "other"]),
        )
        assert not isinstance(merged, Exception) and not isinstance(uploaded, Exception), (merged, uploaded)
        assert names(tim.get_image(uploaded.id)) == {new.name, "other"}
        assert tim.get_tag(new.id).aliases == (old.name,) and tim.get_tag(new.id).image_count == 1
        assert [image.id for image in tim.search_images(exact_tags=old.name).results] == [uploaded.id]
        assert old.name not in {tag.name for tag in tim.list_tags(prefix="old").results}


# The walk: 100,000 images loaded as a restore would load them, then walked
# a page at a time by cursor while other clients insert and delete.

FIRST_CREATED = 1_600_000_000
# Writers pause between writes, as clients do: a few writes between any two pages.
WRITE_PAUSE = 0.005


def load(kind, repository, url, count):
    """`count` images tagged "walk", created a second apart (some sharing one)."""
    rows = [
        (n, f"{n}.dcm", 10, "loader", FIRST_CREATED + n - n % 3, secrets.token_hex(16), None) for n in range(1, count + 1)
    ]
    if kind == "memory":
        for _, filename, size, creator, created, key, _ in rows:
            repository.add_image(NewImage(filename, size, creator, created, key, ("walk",)))
        return
    if kind == "sqlite":
        with closing(sqlite3.connect(repository._pool.path, isolation_level=None)) as db:
            db.execute("BEGIN")
            db.execute("INSERT INTO tags (id, name, folded) VALUES (1, 'walk', 'walk')")
            columns = "id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp"
            db.executemany(f"INSERT INTO images ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO image_tags VALUES (?, 1, ?)", ((row[0], row[4]) for row in rows))
            db.execute("COMMIT")
    else:
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute("INSERT INTO tags (id, name, folded_name) OVERRIDING SYSTEM VALUE VALUES (1, 'walk', 'walk')")
            columns = "id, filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp"
            with cursor.copy(f"COPY images ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cursor.copy("COPY image_tags (image_id, tag_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((row[0], 1))
            cursor.execute("SELECT setval(pg_get_serial_sequence('images', 'id'), %s)", (count,))
            cursor.execute("SELECT setval(pg_get_serial_sequence('tags', 'id'), 1)")
    repository.reindex()  # rows loaded outside tim: the index builds from the tables


def test_a_walk_by_cursor_returns_every_image_that_existed_throughout_once_in_order(kind, catalogue, tim, request):
    url = request.getfixturevalue("postgres_repository_url") if kind == "postgres" else None
    load(kind, catalogue, url, WALKED)
    deleted, walking, errors = set(), threading.Event(), []
    walking.set()

    def insert():
        chance = random.Random(1)
        while walking.is_set():
            created = FIRST_CREATED + chance.randrange(WALKED)  # anywhere in the walk, ahead of it or behind
            catalogue.add_image(NewImage("new.dcm", 10, "inserter", created, secrets.token_hex(16), ("walk",)))
            time.sleep(WRITE_PAUSE)

    def delete():
        chance = random.Random(2)
        while walking.is_set():
            image_id = chance.randrange(1, WALKED + 1)
            if image_id not in deleted:
                deleted.add(image_id)  # before: a deleted image never counts as one that existed throughout
                tim.delete_image(image_id, by="deleter")
            time.sleep(WRITE_PAUSE)

    def guarded(work):
        try:
            work()
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    writers = [threading.Thread(target=guarded, args=(work,)) for work in (insert, delete)]
    for writer in writers:
        writer.start()
    walked, cursor, pages = [], None, 0
    try:
        while True:
            page = tim.search_images(exact_tags="walk", limit=100, cursor=cursor)
            walked += [(image.created_timestamp, image.id) for image in page.results]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    finally:
        walking.clear()
        for writer in writers:
            writer.join()
    assert errors == []
    assert len(deleted) > 20 and tim.list_images(created_by="inserter").total_results > 20  # they did run alongside
    assert walked == sorted(set(walked), reverse=True)  # newest first, none twice
    throughout = set(range(1, WALKED + 1)) - deleted
    assert throughout <= {image_id for _, image_id in walked}
    assert pages >= len(throughout) // 100
