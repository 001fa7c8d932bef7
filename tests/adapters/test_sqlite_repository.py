"""What the SQLite repository keeps beyond the shared contract: tag image
counts (kept by triggers, used for search), batches of pending images, and
object keys that stay unique."""

import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from unittest import mock

import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_differential import apply, operations
from contract.test_repository_contract import new_image
from strategies import image_specs, patterns
from tim.adapters.sqlite import repository as sqlite_repository
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.errors import Conflict
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TagPattern, TimeRange


@settings(max_examples=40)
@given(st.lists(operations, max_size=25))
def test_tag_image_counts_follow_every_change(script):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tim.db"
        repository = SqliteRepository.open(path)
        try:
            for operation in script:
                apply(repository, operation)
            images = repository.find_images(ImageQuery(), PageRequest(0, 100)).results
            for tag in repository.list_tags(PageRequest(0, 100)).results:
                carrying = [image.id for image in images if tag in image.tags]
                # Only the tag itself: the total comes from the kept count.
                found = repository.find_images(ImageQuery(tag_id=tag.id), PageRequest(0, 100))
                assert (found.total_results, [image.id for image in found.results]) == (len(carrying), carrying)
        finally:
            repository.close()
        with closing(sqlite3.connect(path)) as db:
            drift = db.execute(
                "SELECT t.id FROM tags t WHERE t.image_count != (SELECT COUNT(*) FROM image_tags x WHERE x.tag_id = t.id)"
            ).fetchall()
        assert drift == []


def test_pending_images_come_in_batches_in_id_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_repository, "PENDING_BATCH", 3)
    repository = SqliteRepository.open(tmp_path / "tim.db")
    try:
        added = [repository.add_image(new_image(created=1_000 + n % 2, tags=(f"t{n % 3}",))) for n in range(10)]
        repository.mark_uploaded(added[4].id, 2_000)
        expected = [image for image in added if image.id != added[4].id]
        assert list(repository.pending_images(created_before=1_002)) == expected
        assert list(repository.pending_images(created_before=1_001)) == [i for i in expected if i.created_timestamp == 1_000]
    finally:
        repository.close()


def test_an_object_key_belongs_to_one_record(tmp_path):
    repository = SqliteRepository.open(tmp_path / "tim.db")
    try:
        first = repository.add_image(new_image(tags=("a",)))
        with pytest.raises(Conflict):
            repository.add_image(evolve(new_image(tags=("b",)), blob_key=first.blob_key))
        assert repository.get_image_by_blob_key(first.blob_key) == first
        assert [t.name for t in repository.list_tags(PageRequest()).results] == ["a"]  # rolled back whole
    finally:
        repository.close()


# Patterns that match many of the generated names, so that walks happen
broad_patterns = st.just("%") | st.sampled_from("aAsSiIσß_\\").map(lambda char: f"%{char}%")


@settings(max_examples=100)
@given(
    specs=st.lists(image_specs(), min_size=2, max_size=15),
    pattern_texts=st.lists(broad_patterns | patterns, min_size=1, max_size=2),
    start=st.none() | st.integers(1_000, 1_010),
    uploaded_only=st.booleans(),
    page=st.builds(PageRequest, st.integers(0, 3), st.integers(1, 4)),
    budget=st.integers(1, 6),
)
def test_pattern_pages_found_by_walking_the_newest_images_follow_the_domain_rules(
    specs, pattern_texts, start, uploaded_only, page, budget
):
    """Pattern searches that match many images walk through the newest ones
    with a budget; any budget, whether it suffices or not, gives the page
    the domain rules give."""
    query = ImageQuery(patterns=tuple(map(TagPattern, pattern_texts)), time_range=TimeRange(start, None), uploaded_only=uploaded_only)
    with tempfile.TemporaryDirectory() as folder:
        repository = SqliteRepository.open(Path(folder) / "tim.db")
        try:
            for created, tags, uploaded in specs:
                repository.add_image(new_image(created=created, tags=tags, uploaded=created if uploaded else None))
            expected = page.slice(query.select(repository.find_images(ImageQuery(), PageRequest(0, 100)).results))
            with mock.patch.object(sqlite_repository, "walk_budget", return_value=budget):
                assert repository.find_images(query, page) == expected
        finally:
            repository.close()
