"""The key queries use an index, not a walk through every image.

The statements come from the repository itself (traced while it answers),
and SQLite's EXPLAIN QUERY PLAN says how it would run each one, on a fresh
file (no statistics) and after ANALYZE.
"""

import random
import sqlite3
from contextlib import closing

import pytest

from contract.test_repository_contract import new_image
from tim.adapters.sqlite import connections
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TagPattern, TimeRange

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
        repository = SqliteRepository.open(path)
        try:
            yield repository, statements
        finally:
            repository.close()


def plans(library, ask) -> dict[str, list[str]]:
    """Each SELECT the repository runs to answer `ask`, with its query plan."""
    repository, statements = library
    statements.clear()
    ask(repository)
    with closing(sqlite3.connect(repository._pool.path)) as db:
        found = {sql: [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)] for sql in statements if sql.startswith("SELECT")}
    assert found, "no SELECT was traced"
    return found


def search_plans(found) -> dict[str, list[str]]:
    """The plans of a search's count and page (not of looking up its
    required tags or fetching the tags of its results)."""
    return {sql: plan for sql, plan in found.items() if sql.startswith("SELECT COUNT(") or "ORDER BY" in sql}


def full_scans(plan):
    """Steps that read a whole table or index of images or links."""
    return [step for step in plan if step.startswith("SCAN ") and not step.startswith(("SCAN t", "SCAN tags"))]


def table_scans(plan):
    """Steps that read every row of images or links (not a walk down an index
    that stops at a LIMIT)."""
    return [step for step in full_scans(plan) if "USING" not in step or "image_tags" in step]


def page_plan(found):
    (plan,) = [plan for sql, plan in found.items() if "ORDER BY" in sql and "LIMIT" in sql]
    return plan


def test_the_newest_page_reads_the_newest_index_in_order(library):
    found = plans(library, lambda r: r.find_images(ImageQuery(), PageRequest(3, 20)))
    page = page_plan(found)
    assert page == ["SCAN i USING INDEX images_newest"]  # walked newest first, stops after the page


def test_a_tags_images_come_from_that_tags_entries_in_order(library):
    found = plans(library, lambda r: r.find_images(ImageQuery(tag_id=5, uploaded_only=True), PageRequest(0, 20)))
    for plan in search_plans(found).values():
        assert full_scans(plan) == []
    page = page_plan(found)
    assert "SEARCH d USING COVERING INDEX image_tags_newest (tag_id=?)" in page
    assert not any("TEMP B-TREE" in step for step in page)


def test_an_exact_tag_search_starts_from_its_rarest_tag(library):
    query = ImageQuery(exact_tags=frozenset({"common", "Tag-7"}), patterns=(TagPattern("tag-%"),))
    found = plans(library, lambda r: r.find_images(query, PageRequest(0, 20)))
    for plan in search_plans(found).values():
        assert full_scans(plan) == []
    page = page_plan(found)
    assert "SEARCH d USING COVERING INDEX image_tags_newest (tag_id=?)" in page
    assert not any("TEMP B-TREE" in step for step in page)
    tag_7 = library[0].find_images(ImageQuery(exact_tags=frozenset({"Tag-7"})), PageRequest(0, 1)).results[0]
    tag_7_id = next(tag.id for tag in tag_7.tags if tag.name == "Tag-7")
    assert f"d.tag_id = {tag_7_id}" in next(sql for sql in found if "ORDER BY" in sql)  # not "common"


@pytest.mark.parametrize("time_range", [TimeRange(1_000_500, 1_000_600), TimeRange(1_001_900, None)])
def test_a_date_range_is_a_range_of_the_newest_index(library, time_range):
    found = plans(library, lambda r: r.find_images(ImageQuery(time_range=time_range), PageRequest(0, 20)))
    for plan in search_plans(found).values():
        assert full_scans(plan) == []
        assert any(step.startswith("SEARCH i USING") and "images_newest (created_timestamp>?" in step for step in plan)


def test_uploaded_only_reads_just_the_uploaded_images(library):
    found = plans(library, lambda r: r.find_images(ImageQuery(uploaded_only=True), PageRequest(0, 20)))
    for plan in search_plans(found).values():
        assert all("images_uploaded_newest" in step for step in plan), plan


@pytest.mark.parametrize("pattern", ["TAG-1", "%-17", "tag-17%"])
def test_a_pattern_matching_few_images_starts_from_the_matching_tags(library, pattern):
    found = plans(library, lambda r: r.find_images(ImageQuery(patterns=(TagPattern(pattern),)), PageRequest(0, 20)))
    assert len(search_plans(found)) == 2  # a count and a page
    for plan in search_plans(found).values():
        assert full_scans(plan) == []
        assert "SEARCH x USING COVERING INDEX image_tags_newest (tag_id=?)" in plan
    if not pattern.startswith("%"):  # a literal prefix narrows the tags too
        for plan in search_plans(found).values():
            assert any(step.startswith("SEARCH t USING COVERING INDEX tags_alphabetical (folded") for step in plan), plan


@pytest.mark.parametrize("pattern", ["tag-1%", "%-1%"])
def test_a_wildcard_matching_many_images_walks_the_newest_until_the_page_is_full(library, pattern):
    found = search_plans(plans(library, lambda r: r.find_images(ImageQuery(patterns=(TagPattern(pattern),)), PageRequest(0, 20))))
    for plan in found.values():
        assert table_scans(plan) == []
    (count,) = [plan for sql, plan in found.items() if sql.startswith("SELECT COUNT(")]
    assert "SEARCH x USING COVERING INDEX image_tags_newest (tag_id=?)" in count  # from the links alone
    (walk,) = [plan for sql, plan in found.items() if "i.created_timestamp >=" in sql]
    assert walk[0] == "SEARCH i USING INDEX images_newest (created_timestamp>?)"
    assert not any("TEMP B-TREE" in step for step in walk)  # in order, so it stops at the LIMIT


def test_lookups_by_blob_key_and_pending_and_tag_list_use_indexes(library):
    repository = library[0]
    blob_key = repository.find_images(ImageQuery(), PageRequest(0, 1)).results[0].blob_key
    lookups = {
        "by blob key": lambda r: r.get_image_by_blob_key(blob_key),
        "pending": lambda r: list(r.pending_images(created_before=1_000_100)),
        "tag list": lambda r: r.list_tags(PageRequest(1, 10)),
    }
    for name, ask in lookups.items():
        for sql, plan in plans(library, ask).items():
            assert full_scans(plan) == [], (name, sql, plan)
            assert not any("TEMP B-TREE" in step for step in plan), (name, sql, plan)
