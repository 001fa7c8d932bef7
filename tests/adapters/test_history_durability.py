"""History is kept with its database: it survives a restart, every
committed change has its events, and a change that is rolled back (an
error, a process killed before its commit) has none."""

import os
import signal

import pytest

import tim
from adapters.test_shared_catalogue import database_url, writer  # noqa: F401 - fixtures
from tim.adapters.postgres import repository as postgres_repository
from tim.adapters.sqlite import repository as sqlite_repository


def everything(images):
    return images.list_history(limit=100).results


def test_history_survives_a_restart(database_url):  # noqa: F811 - a fixture
    images = tim.open(database_url)
    try:
        made = images.upload_image(created_by="ana", filename="a.png", data=b"a", tags=["lung"])
        images.edit_image_tags(made.id, add=["CT"], remove=["lung"], by="bo")
        images.delete_image(made.id, by="cy")
        before = everything(images)
        assert [(event.action, event.by) for event in before] == [
            ("deleted", "cy"),
            ("tagged", "bo"),
            ("uploaded", "ana"),
            ("created", "ana"),
        ]
    finally:
        images.close()
    reopened = tim.open(database_url)
    try:
        assert everything(reopened) == before
        assert reopened.image_history(made.id) == list(before)
    finally:
        reopened.close()


class Refused(Exception):
    """What the sabotaged write raises, after writing its events and before its commit."""


def then_fail(write):
    def written_then_fail(*args, **kwargs):
        write(*args, **kwargs)
        raise Refused

    return written_then_fail


@pytest.fixture
def sabotage(database_url, monkeypatch):  # noqa: F811 - a fixture
    """Makes the next writes fail after their events are written, before they commit."""

    def arm():
        if database_url.startswith("sqlite"):
            for name in ("_events", "_events_of_images"):  # every write's history goes through one of them
                monkeypatch.setattr(sqlite_repository, name, then_fail(getattr(sqlite_repository, name)))
        else:

            def fail(conn, *changes):  # the last statement of every write, after its events
                raise Refused

            monkeypatch.setattr(postgres_repository, "_record_changes", fail)

    return arm


def test_a_change_that_is_rolled_back_records_no_event(database_url, sabotage):  # noqa: F811 - a fixture
    images = tim.open(database_url)
    try:
        made = images.upload_image(created_by="ana", filename="a.png", data=b"a", tags=["lung"])
        other = images.create_tag("other")
        before, state = everything(images), images.get_image(made.id)
        sabotage()
        for change in (
            lambda: images.upload_image(created_by="ana", filename="b.png", data=b"b", tags=["x"]),
            lambda: images.update_image_tags(made.id, tags=["CT"], by="bo"),
            lambda: images.edit_image_tags(made.id, add=["CT"], by="bo"),
            lambda: images.edit_tags_of_images(ids=[made.id], remove=["lung"], by="bo"),
            lambda: images.rename_tag(made.tags[0].id, name="Lung", by="bo"),
            lambda: images.merge_tags(made.tags[0].id, into=other.id, by="bo"),
            lambda: images.delete_tag(made.tags[0].id, by="bo"),
            lambda: images.delete_image(made.id, by="bo"),
        ):
            with pytest.raises(Refused):
                change()
            assert everything(images) == before
        assert images.get_image(made.id) == state and images.list_images().total_results == 1
    finally:
        images.close()


def test_a_writer_killed_before_its_commit_records_no_event(database_url, writer):  # noqa: F811 - a fixture
    reader = tim.open(database_url)
    try:
        kept = writer("add", ["kept"])
        before = everything(reader)
        assert [(event.action, event.image_id) for event in before] == [("uploaded", kept), ("created", kept)]
        assert writer("hang", ["lost"]) == "hanging"  # written, not committed
        os.kill(writer.process.pid, signal.SIGKILL)
        writer.close()
        assert everything(reader) == before
    finally:
        reader.close()
