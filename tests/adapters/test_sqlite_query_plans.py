"""What a search, a read and a write ask of SQLite uses an index, not a
walk through every image; only building the search index reads everything.

The statements come from the repository itself (traced while it answers),
and SQLite's EXPLAIN QUERY PLAN says how it would run each one, on a fresh
file (no statistics) and after ANALYZE.
"""

import random
import sqlite3
from contextlib import closing

import pytest

from contract.test_repository_contract import new_image
from searchable import Searchable, v1_query
from tim.adapters.sqlite import connections
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.paging import PageRequest

IMAGES, TAGS = 2_000, 60


@pytest.fixture(scope="module", params=["fresh", "analyzed"])
def library(request, tmp_path_factory):
    """A file with 2000 images and 61 tags; yields (repository, the SQL it runs)."""
    path = tmp_path_factory.mktemp("plans") / "tim.db"
    repository = SqliteRepository.open(path)
    chance = random.Random(7)
    for n in range(IMAGES):
        tags = {f"Tag-{chance.randrange(TAGS)}" for _ in range(3)} | ({"common"} if n % 3 == 0 else set())
        repository.add_image(new_image(created=1_000_000 + n, tags=sorted(tags), uploaded=5 if n % 4 else None))
    repository.close()
    if request.param == "analyzed":
        with closing(sqlite3.connect(path)) as db:
            db.execute("ANALYZE")

    statements = []
    original = connections.connect

    def traced(path):
        connection = original(path)
        connection.set_trace_callback(statements.append)  # SQL with its values filled in
        return connection

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connections, "connect", traced)
        repository = Searchable(SqliteRepository.open(path))
        repository.find_images(v1_query(), PageRequest())  # the index is built: later searches only follow the feed
        try:
            yield repository, statements
        finally:
            repository.close()


def plans(library, ask) -> dict[str, list[str]]:
    """Each SELECT the repository runs to answer `ask`, with its query plan."""
    repository, statements = library
    statements.clear()
    ask(repository)
    with closing(sqlite3.connect(repository.repository._pool.path)) as db:
        found = {sql: [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)] for sql in statements if sql.startswith("SELECT")}
    assert found, "no SELECT was traced"
    return found


def full_scans(plan):
    """Steps that read a whole table or index of images or links."""
    return [step for step in plan if step.startswith("SCAN ") and not step.startswith(("SCAN t", "SCAN tags"))]


def assert_indexed(found):
    """No scan; a sort only of what a page holds (its records' tags)."""
    for sql, plan in found.items():
        assert full_scans(plan) == [], (sql, plan)
        sorts = [step for step in plan if "TEMP B-TREE" in step]
        assert not sorts or "FROM image_tags x JOIN tags t" in sql, (sql, plan)


SEARCHES = {
    "newest page": v1_query(),
    "deep page of a tag": v1_query(tag_id=5, uploaded_only=True),
    "exact tags and a pattern": v1_query(exact_tags={"common", "Tag-7"}, patterns=["tag-%"]),
}


@pytest.mark.parametrize("query", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_search_reads_the_feed_and_its_page_of_records_by_index(library, query):
    repository = library[0]
    repository.add_image(new_image(created=2_000_000, tags=("Tag-7", "common")))  # a change to catch up with
    found = plans(library, lambda r: r.find_images(query, PageRequest(3, 20)))
    assert_indexed(found)
    assert any("FROM feed" in sql for sql in found) and any("FROM changes" in sql for sql in found)


def test_lookups_writes_and_lists_use_indexes(library):
    repository = library[0]
    image = repository.find_images(v1_query(), PageRequest(0, 1)).results[0]
    asks = {
        "by id": lambda r: r.get_image(image.id),
        "by blob key": lambda r: r.get_image_by_blob_key(image.blob_key),
        "pending": lambda r: list(r.pending_images(created_before=1_000_100)),
        "tag list": lambda r: r.list_tags(PageRequest(1, 10)),
        "retag": lambda r: r.set_image_tags(image.id, ["Tag-1", "new"]),
        "mark uploaded": lambda r: r.mark_uploaded(image.id, 9),
    }
    for name, ask in asks.items():
        assert_indexed(plans(library, ask))


def test_only_a_build_reads_everything(library):
    repository = library[0]
    repository.repository.reindex()
    found = plans(library, lambda r: r.find_images(v1_query(), PageRequest(0, 20)))
    scanning = [sql for sql, plan in found.items() if full_scans(plan)]
    assert scanning and all("group_concat" in sql for sql in scanning)
