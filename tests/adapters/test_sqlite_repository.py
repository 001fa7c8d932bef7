"""What the SQLite repository keeps beyond the shared contract: batches of
pending images, object keys that stay unique, and a change feed that is
trimmed as it grows."""

import pytest
from attrs import evolve

from contract.test_repository_contract import new_image
from searchable import Searchable, v1_query
from tim.adapters import feed_rows
from tim.adapters.sqlite import repository as sqlite_repository
from tim.adapters.sqlite.repository import SqliteRepository
from tim.domain.model.errors import Conflict
from tim.domain.model.paging import PageRequest


def test_pending_images_come_in_batches_in_id_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_repository, "PENDING_BATCH", 3)
    repository = Searchable(SqliteRepository.open(tmp_path / "tim.db"))
    try:
        added = [repository.add_image(new_image(created=1_000 + n % 2, tags=(f"t{n % 3}",))) for n in range(10)]
        repository.mark_uploaded(added[4].id, 2_000)
        expected = [image for image in added if image.id != added[4].id]
        assert list(repository.pending_images(created_before=1_002)) == expected
        assert list(repository.pending_images(created_before=1_001)) == [i for i in expected if i.created_timestamp == 1_000]
    finally:
        repository.close()


def test_an_object_key_belongs_to_one_record(tmp_path):
    repository = Searchable(SqliteRepository.open(tmp_path / "tim.db"))
    try:
        first = repository.add_image(new_image(tags=("a",)))
        with pytest.raises(Conflict):
            repository.add_image(evolve(new_image(tags=("b",)), blob_key=first.blob_key))
        assert repository.get_image_by_blob_key(first.blob_key) == first
        assert [t.name for t in repository.list_tags(PageRequest()).results] == ["a"]  # rolled back whole
    finally:
        repository.close()


def test_the_feed_is_trimmed_and_a_follower_left_behind_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setattr(feed_rows, "FEED_KEPT", 5)
    monkeypatch.setattr(feed_rows, "FEED_TRIM_EVERY", 3)
    repository = Searchable(SqliteRepository.open(tmp_path / "tim.db"))
    try:
        first = repository.add_image(new_image(tags=("a",)))
        assert repository.find_images(v1_query(exact_tags={"a"}), PageRequest()).total_results == 1
        for n in range(20):
            repository.add_image(new_image(created=1_000 + n, tags=("a", f"t{n}")))
        with repository.read() as view:
            kept = view.changes_after(0, 100)
            assert 5 <= len(kept) < 10 and kept[-1].seq == view.feed_position().seq
        repository.delete_image(first.id)
        assert repository.find_images(v1_query(exact_tags={"a"}), PageRequest()).total_results == 20
    finally:
        repository.close()
