"""The SQLite file: migrations on open, ids that outlive restarts, and
failures reported as StorageUnavailable."""

import sqlite3
import unicodedata
from pathlib import Path

import pytest
import sqlite_utils

from searchable import Searchable, v1_query
from contract.test_repository_contract import new_image
from tim.adapters.sqlite import connections
from tim.adapters.sqlite.repository import SqliteRepository
from tim.adapters.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from tim.domain.model.errors import StorageUnavailable
from tim.domain.model.paging import PageRequest
from tim.domain.model.patterns import TagPattern


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "nested" / "folder" / "tim.db"


def test_a_new_file_gets_the_current_schema(path):
    Searchable(SqliteRepository.open(path)).close()
    with sqlite_utils.Database(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        assert db.journal_mode == "wal"
        assert {"images", "tags", "image_tags"} <= set(db.table_names())
        # AUTOINCREMENT keeps ids of deleted rows from coming back
        assert "AUTOINCREMENT" in db["images"].schema and "AUTOINCREMENT" in db["tags"].schema
        indexes = {index.name for table in ("images", "tags", "image_tags") for index in db[table].indexes}
    assert {"images_newest", "images_uploaded_newest", "images_pending", "tags_alphabetical", "image_tags_newest"} <= indexes


def test_reopening_keeps_everything(path):
    repository = Searchable(SqliteRepository.open(path))
    image = repository.add_image(new_image(tags=("Lung", "ct")))
    uploaded = repository.mark_uploaded(image.id, 2_000)
    tag = repository.add_tag("spare")
    repository.close()

    repository = Searchable(SqliteRepository.open(path))
    try:
        assert repository.get_image(image.id) == uploaded
        assert repository.get_tag(tag.id) == tag
        assert [t.name for t in repository.list_tags(PageRequest()).results] == ["ct", "Lung", "spare"]
    finally:
        repository.close()
    with sqlite_utils.Database(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_ids_are_not_reused_after_a_restart(path):
    repository = Searchable(SqliteRepository.open(path))
    repository.add_image(new_image())
    newest = repository.add_image(new_image(tags=("gone",)))
    gone = newest.tags[0]
    repository.delete_image(newest.id)
    repository.delete_tag(gone.id)
    repository.close()

    repository = Searchable(SqliteRepository.open(path))
    try:
        assert repository.add_image(new_image()).id > newest.id
        assert repository.add_tag("gone").id > gone.id
    finally:
        repository.close()


def test_a_file_from_a_newer_tim_is_refused(path):
    Searchable(SqliteRepository.open(path)).close()
    with sqlite_utils.Database(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageUnavailable, match="schema version"):
        Searchable(SqliteRepository.open(path))


def test_folded_names_are_recomputed_for_another_unicode_version(path):
    repository = Searchable(SqliteRepository.open(path))
    image = repository.add_image(new_image(tags=("STRASSE",)))
    repository.close()
    with sqlite_utils.Database(path) as db, db.atomic():  # as if another Python (another Unicode) had folded them
        db.execute("UPDATE tags SET folded = ?", ["stale"])
        db.execute("UPDATE meta SET value = ? WHERE key = ?", ["1.0.0", "folded_with_unicode"])

    repository = Searchable(SqliteRepository.open(path))
    try:
        found = repository.find_images(v1_query(patterns=(TagPattern("straße"),)), PageRequest())
        assert [i.id for i in found.results] == [image.id]
    finally:
        repository.close()
    with sqlite_utils.Database(path) as db:
        meta = db.execute("SELECT value FROM meta WHERE key = ?", ["folded_with_unicode"]).fetchone()
    assert meta == (unicodedata.unidata_version,)


def test_a_folder_that_cannot_be_made_is_storage_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StorageUnavailable):
        Searchable(SqliteRepository.open(tmp_path / "a-file" / "tim.db"))


def test_a_path_that_cannot_be_opened_is_storage_unavailable(tmp_path):
    (tmp_path / "a-folder.db").mkdir()
    with pytest.raises(StorageUnavailable, match="unable to open"):
        Searchable(SqliteRepository.open(tmp_path / "a-folder.db"))


def test_a_file_that_is_not_a_database_is_storage_unavailable(tmp_path):
    path = tmp_path / "tim.db"
    path.write_bytes(b"these are not the bytes of a SQLite database" * 100)
    with pytest.raises(StorageUnavailable):
        Searchable(SqliteRepository.open(path))


def test_a_closed_repository_is_storage_unavailable(path):
    repository = Searchable(SqliteRepository.open(path))
    repository.close()
    with pytest.raises(StorageUnavailable):
        repository.get_image(1)


def test_a_lock_held_past_the_busy_timeout_is_storage_unavailable(path, monkeypatch):
    repository = Searchable(SqliteRepository.open(path))
    monkeypatch.setattr(connections, "BUSY_TIMEOUT_SECONDS", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageUnavailable, match="locked"):
            repository.add_tag("waits too long")
        holder.execute("ROLLBACK")
        assert repository.add_tag("fine now").name == "fine now"  # the pool recovered
    finally:
        holder.close()
        repository.close()


def test_mistakes_in_sql_are_not_mistaken_for_outages(path):
    with pytest.raises(sqlite3.OperationalError), connections.translated_errors(path):
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")
