"""Several processes on one database: what one commits, the next search of
any other sees (its index follows the change feed), and a writer killed
half-way leaves nothing an index could disagree with."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tim
from adapters.test_posting_index import everything_the_index_knows
from tim.adapters.postings.index import PostingIndex

WRITER = Path(__file__).resolve().parents[1] / "writer_process.py"


class Writer:
    """A writer_process.py child."""

    def __init__(self, url):
        env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
        self.process = subprocess.Popen(
            [sys.executable, str(WRITER), url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def __call__(self, *command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the writer died"
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process.stdin.close()
        self.process.stdout.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tim.db'}"
    return request.getfixturevalue("postgres_databases")()


@pytest.fixture
def writer(database_url):
    writer = Writer(database_url)
    yield writer
    writer.close()


def names_found(images, **terms):
    return sorted(image.id for image in images.search_images(limit=100, **terms).results)


def test_a_write_in_one_process_is_in_the_next_search_of_another(database_url, writer):
    reader = tim.open(database_url)
    try:
        assert reader.list_images().total_results == 0  # the reader's index is built, empty
        first = writer("add", ["lung", "CT"])
        assert names_found(reader, exact_tags="lung") == [first]
        second = writer("add", ["lung"])
        assert names_found(reader, exact_tags="lung") == [first, second]
        writer("rename", "lung", "Lunge")
        assert names_found(reader, exact_tags="lung") == []
        assert names_found(reader, exact_tags="Lunge") == [first, second]
        assert names_found(reader, match_tags="LUNG%") == [first, second]
        writer("delete", first)
        assert names_found(reader, exact_tags="Lunge") == [second]
        assert reader.list_images().total_results == 1
    finally:
        reader.close()


def test_two_managers_in_one_process_share_a_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'tim.db'}"
    one, other = tim.open(url), tim.open(url)
    try:
        assert other.list_images().total_results == 0
        image = one.upload_image(created_by="ana", filename="a.png", data=b"a", tags=["x"])
        assert [found.id for found in other.search_images(exact_tags="x").results] == [image.id]
        one.rename_tag(image.tags[0].id, name="y")
        assert other.search_images(exact_tags="x").total_results == 0
        assert other.search_images(exact_tags="y").total_results == 1
        one.delete_image(image.id)
        assert other.list_images().total_results == 0
    finally:
        one.close()
        other.close()


def test_a_writer_killed_mid_transaction_leaves_the_index_right(database_url, writer):
    reader = tim.open(database_url)
    try:
        kept = writer("add", ["kept"])
        assert reader.list_images().total_results == 1
        assert writer("hang", ["lost"]) == "hanging"  # everything written, nothing committed
        os.kill(writer.process.pid, signal.SIGKILL)
        writer.close()
        assert [image.id for image in reader.list_images().results] == [kept]
        assert reader.search_images(exact_tags="lost").total_results == 0
        later = reader.upload_image(created_by="ana", filename="b.png", data=b"b", tags=["kept"])  # nothing is left locked
        assert names_found(reader, exact_tags="kept") == [kept, later.id]
        assert everything_the_index_knows(reader.repository, reader.ports.index) == everything_the_index_knows(
            reader.repository, PostingIndex()
        )
    finally:
        reader.close()
    reopened = tim.open(database_url)
    try:
        assert names_found(reopened, exact_tags="kept") == [kept, later.id]
        assert reopened.list_images().total_results == 2
    finally:
        reopened.close()
