from urllib.parse import parse_qsl, urlsplit

import pytest

from managers import in_memory_manager
from tim.domain.model.downloads import ByteRange
from tim.domain.model.errors import (
    AccessDenied,
    AlreadyUploaded,
    InvalidInput,
    NotFound,
    RangeNotSatisfiable,
    SizeMismatch,
    TagNameTaken,
    TooLarge,
    UploadIncomplete,
)
from tim.domain.use_cases.parts import LOOKS_PER_PAGE
from tim.adapters.upload_checks import STORE_DOWN_BACKOFF_SECONDS


def signed(url):
    parts = urlsplit(url)
    return parts.path.rsplit("/", 1)[1], dict(parse_qsl(parts.query))


@pytest.fixture
def tim():
    return in_memory_manager()


def test_two_step_upload_then_download(tim):
    created = tim.create_image(created_by="ana", filename="scan.dcm", size=5, tags=["CT", "lung", "CT"])
    assert created.image.url is None and [t.name for t in created.image.tags] == ["CT", "lung"]
    key, params = signed(created.upload_url)
    assert params["length"] == "5"
    stored = tim.receive_upload(key, params, [b"he", b"llo"], content_length=5)
    assert stored.uploaded_timestamp == tim.ports.clock.now() and stored.url
    download = tim.open_download(*signed(stored.url))
    assert download.image.id == stored.id and b"".join(download.chunks) == b"hello"
    assert tim.get_image(stored.id).url


def test_an_upload_must_have_the_declared_length(tim):
    created = tim.create_image(created_by="ana", filename="a", size=5)
    key, params = signed(created.upload_url)
    with pytest.raises(SizeMismatch):
        tim.receive_upload(key, params, [b"hello"], content_length=4)
    with pytest.raises(SizeMismatch):
        tim.receive_upload(key, params, [b"hello!"])
    with pytest.raises(SizeMismatch):
        tim.receive_upload(key, params, [b"hell"])
    assert not tim.get_image(created.image.id).is_uploaded
    assert tim.ports.blobs.stat(key) is None


def test_a_stored_file_cannot_be_replaced(tim):
    created = tim.create_image(created_by="ana", filename="a", size=1)
    key, params = signed(created.upload_url)
    tim.receive_upload(key, params, [b"1"])
    with pytest.raises(AlreadyUploaded):
        tim.receive_upload(key, params, [b"2"])
    assert b"".join(tim.ports.blobs.get(key)) == b"1"


def test_an_upload_received_in_steps_is_checked_first_and_stored_at_the_end(tim):
    created = tim.create_image(created_by="ana", filename="a", size=5)
    key, params = signed(created.upload_url)
    with pytest.raises(AccessDenied):
        tim.start_upload(key, params | {"length": "6"})
    with pytest.raises(SizeMismatch):
        tim.start_upload(key, params, content_length=4)
    first, second = tim.start_upload(key, params), tim.start_upload(key, params)
    for incoming in (first, second):
        incoming.writer.write(b"hel")
        incoming.writer.write(b"lo")
    assert not tim.get_image(created.image.id).is_uploaded
    assert tim.finish_upload(first).uploaded_timestamp == tim.ports.clock.now()
    with pytest.raises(AlreadyUploaded):  # of two racing PUTs, one is stored
        tim.finish_upload(second)
    with pytest.raises(AlreadyUploaded):
        tim.start_upload(key, params)
    assert b"".join(tim.ports.blobs.get(key)) == b"hello"


def test_signed_urls_expire_and_cannot_be_altered(tim):
    created = tim.create_image(created_by="ana", filename="a", size=1)
    key, params = signed(created.upload_url)
    with pytest.raises(AccessDenied):
        tim.receive_upload(key, params | {"length": "2"}, [b"12"])
    with pytest.raises(AccessDenied):
        tim.open_download(key, params)
    tim.ports.clock.advance(3601)
    with pytest.raises(AccessDenied):
        tim.receive_upload(key, params, [b"1"])


def test_one_shot_upload(tim):
    image = tim.upload_image(created_by="bo", filename="x.png", data=b"abc", tags=["t"])
    assert image.is_uploaded and image.size == 3 and image.created_by == "bo"
    assert b"".join(tim.open_download(*signed(image.url)).chunks) == b"abc"
    with pytest.raises(InvalidInput, match="image_data"):
        tim.upload_image(created_by="bo", filename="x.png", data=b"")
    with pytest.raises(TooLarge):
        tim.upload_image(created_by="bo", filename="x.png", data=b"x" * 1001)
    assert tim.list_images().total_results == 1


def test_delete_removes_record_and_file(tim):
    image = tim.upload_image(created_by="bo", filename="x.png", data=b"abc")
    tim.delete_image(str(image.id))
    with pytest.raises(NotFound):
        tim.get_image(image.id)
    with pytest.raises(NotFound):
        tim.delete_image(image.id)
    assert tim.ports.blobs.stat(image.blob_key) is None
    with pytest.raises(NotFound):
        tim.open_download(*signed(image.url))


def test_embedders_stream_a_file_without_urls(tim):
    created = tim.create_image(created_by="ana", filename="a", size=4)
    with pytest.raises(UploadIncomplete):
        tim.complete_upload(created.image.id)
    image = tim.upload_file(created.image.id, iter([b"ab", b"cd"]))
    assert image.is_uploaded and tim.complete_upload(created.image.id).is_uploaded


def test_uploads_made_straight_to_the_store_are_found_lazily_and_on_completion():
    tim = in_memory_manager(direct_uploads=True)
    first = tim.create_image(created_by="ana", filename="a", size=3).image
    second = tim.create_image(created_by="ana", filename="b", size=3).image
    assert not tim.get_image(first.id).is_uploaded
    tim.ports.blobs.put(first.blob_key, [b"abc"], 3)  # the client's PUT, straight to the store
    assert not tim.get_image(first.id).is_uploaded  # looked at a moment ago: not again yet
    tim.ports.clock.advance(5)
    assert tim.get_image(first.id).is_uploaded
    checks = tim.ports.blobs.confirmations
    tim.get_image(first.id)
    assert tim.ports.blobs.confirmations == checks  # uploaded records are never checked again
    tim.ports.blobs.put(second.blob_key, [b"ab!"], 3)
    assert tim.complete_upload(second.id).is_uploaded  # no waiting for completion
    third = tim.create_image(created_by="ana", filename="c", size=3).image
    tim.ports.blobs.put(third.blob_key, [b"abcd"], 4)
    with pytest.raises(UploadIncomplete, match="did not have the declared 3 bytes; it was removed"):
        tim.complete_upload(third.id)
    assert tim.ports.blobs.stat(third.blob_key) is None  # the wrong-size object was removed
    with pytest.raises(UploadIncomplete, match="no file of 3 bytes has been uploaded"):
        tim.complete_upload(third.id)


def test_records_stay_readable_while_the_store_is_down():
    tim = in_memory_manager(direct_uploads=True)
    pending = [tim.create_image(created_by="ana", filename=f"{n}", size=3).image for n in range(5)]
    tim.ports.blobs.down = True
    tim.ports.clock.advance(5)
    assert [image.is_uploaded for image in tim.list_images().results] == [False] * 5
    assert tim.ports.blobs.confirmations == 1  # the first failure stops the others until the next interval
    tim.ports.blobs.down = False
    tim.ports.blobs.put(pending[0].blob_key, [b"abc"], 3)
    tim.ports.clock.advance(5)
    assert not tim.get_image(pending[0].id).is_uploaded  # the store gets time to recover
    assert tim.ports.blobs.confirmations == 1
    tim.ports.clock.advance(STORE_DOWN_BACKOFF_SECONDS)
    assert tim.get_image(pending[0].id).is_uploaded


def test_tags(tim):
    chest = tim.create_tag(" Chest ")
    assert chest.name == "Chest"
    with pytest.raises(TagNameTaken) as taken:
        tim.create_tag("Chest")
    assert taken.value.existing == chest.tag
    image = tim.create_image(created_by="a", filename="a", size=1, tags=["Chest"]).image
    assert tim.rename_tag(chest.id, name="chest").name == "chest"
    assert [t.name for t in tim.get_image(image.id).tags] == ["chest"]
    assert [i.id for i in tim.list_tag_images(chest.id).results] == [image.id]
    tim.delete_tag(chest.id)
    assert tim.get_image(image.id).tags == ()
    for missing in (chest.id, 0, -1, "x", None, "1.0"):
        with pytest.raises(NotFound):
            tim.get_tag(missing)


def test_updating_tags_replaces_them(tim):
    image = tim.create_image(created_by="a", filename="a", size=1, tags=["a", "b"]).image
    assert [t.name for t in tim.update_image_tags(image.id, tags=["c", "a"]).tags] == ["a", "c"]
    assert [t.name for t in tim.list_tags().results] == ["a", "b", "c"]


def test_search(tim):
    a = tim.create_image(created_by="a", filename="a", size=1, tags=["Chest X-Ray", "adult"]).image
    tim.ports.clock.advance()
    b = tim.create_image(created_by="a", filename="b", size=1, tags=["chest ct", "adult"]).image
    assert [i.id for i in tim.search_images(match_tags="CHEST%").results] == [b.id, a.id]
    assert [i.id for i in tim.search_images(exact_tags="adult", match_tags="%x-ray").results] == [a.id]
    assert [i.id for i in tim.search_images(exact_tags="Adult").results] == []
    assert [i.id for i in tim.search_images(exact_tags=["adult"], start_timestamp=b.created_timestamp).results] == [b.id]


TOO_MANY_TAGS = [f"tag {n}" for n in range(257)]
WRONG_INPUTS = [
    (lambda t: t.create_image(created_by="a", filename="", size=1), "filename"),
    (lambda t: t.create_image(created_by="a", filename="a", size=0), "size"),
    (lambda t: t.create_image(created_by="a", filename="a", size=1, tags=["|"]), "tags[0]"),
    (lambda t: t.create_image(created_by="", filename="a", size=1), "created_by"),
    (lambda t: t.upload_image(created_by="a", filename="a/b", data=b"1"), "filename"),
    (lambda t: t.upload_image(created_by="a", filename="a", data=b"1", tags="x"), "tags"),
    (lambda t: t.list_images(page=-1), "page"),
    (lambda t: t.list_images(limit=101), "limit"),
    (lambda t: t.list_images(start_timestamp="soon"), "start_timestamp"),
    (lambda t: t.list_images(uploaded_only="maybe"), "uploaded_only"),
    (lambda t: t.search_images(), "exact_tags"),
    (lambda t: t.search_images(match_tags="a", end_timestamp=-5), "end_timestamp"),
    (lambda t: t.update_image_tags(1, tags=[""]), "tags[0]"),
    (lambda t: t.list_tags(limit=0), "limit"),
    (lambda t: t.create_tag("a|b"), "name"),
    (lambda t: t.rename_tag(1, name=" "), "name"),
    (lambda t: t.list_tag_images(1, page="x"), "page"),
    (lambda t: t.create_image(created_by="a", filename="\u202egnp.dcm", size=1), "filename"),
    (lambda t: t.upload_image(created_by="a", filename=" ", data=b"1"), "filename"),
    (lambda t: t.create_tag("zero\u200bwidth"), "name"),
    (lambda t: t.rename_tag(1, name="\ufeffbom"), "name"),
    (lambda t: t.create_image(created_by="a", filename="a", size=1, tags=TOO_MANY_TAGS), "tags"),
    (lambda t: t.upload_image(created_by="a", filename="a", data=b"1", tags=TOO_MANY_TAGS), "tags"),
    (lambda t: t.update_image_tags(1, tags=TOO_MANY_TAGS), "tags"),
]


@pytest.mark.parametrize("call, field", WRONG_INPUTS)
def test_bad_input_names_the_field_and_changes_nothing(call, field):
    tim = in_memory_manager()
    tim.create_image(created_by="a", filename="a", size=1, tags=["t"])
    before = (tim.list_images(), tim.list_tags())
    with pytest.raises(InvalidInput) as error:
        call(tim)
    assert error.value.problems[0].field == field
    assert error.value.problems[0].message
    assert (tim.list_images(), tim.list_tags()) == before


def test_completing_the_upload_of_an_image_deleted_meanwhile_is_not_found():
    tim = in_memory_manager(direct_uploads=True)
    created = tim.create_image(created_by="a", filename="a", size=3)
    tim.ports.blobs.put(created.image.blob_key, [b"abc"], 3)
    real_confirm = tim.ports.blobs.confirm_upload

    def confirm_while_deleted(key, size):
        state = real_confirm(key, size)
        tim.repository.delete_image(created.image.id)  # another request deletes it now
        return state

    tim.ports.blobs.confirm_upload = confirm_while_deleted
    with pytest.raises(NotFound):
        tim.complete_upload(created.image.id)
    assert tim.ports.blobs.stat(created.image.blob_key) is None


def test_a_page_of_pending_uploads_looks_for_a_few_only():
    tim = in_memory_manager(direct_uploads=True)
    for n in range(25):
        image = tim.create_image(created_by="ana", filename=f"{n}", size=1).image
        tim.ports.blobs.put(image.blob_key, [b"x"], 1)  # every one arrived
    tim.ports.clock.advance(5)
    assert sum(image.is_uploaded for image in tim.list_images().results) == LOOKS_PER_PAGE
    assert tim.ports.blobs.confirmations == LOOKS_PER_PAGE
    tim.ports.clock.advance(5)
    assert sum(image.is_uploaded for image in tim.list_images().results) == 2 * LOOKS_PER_PAGE


def test_a_put_after_a_crash_between_file_and_record_brings_the_record_up_to_date(tim):
    created = tim.create_image(created_by="ana", filename="a", size=3)
    tim.ports.blobs.put(created.image.blob_key, [b"abc"], 3)  # stored, then the process died
    key, params = signed(created.upload_url)
    with pytest.raises(AlreadyUploaded):
        tim.receive_upload(key, params, [b"xyz"])
    assert tim.get_image(created.image.id).is_uploaded
    assert b"".join(tim.ports.blobs.get(key)) == b"abc"


def test_an_image_carries_at_most_the_configured_number_of_tags():
    tim = in_memory_manager(max_tags_per_image=3)
    image = tim.create_image(created_by="a", filename="a", size=1, tags=["a", "b", "c", "a", "b"]).image
    assert [t.name for t in image.tags] == ["a", "b", "c"]  # five entries, three tags
    with pytest.raises(InvalidInput, match="^tags: must name at most 3 tags"):
        tim.update_image_tags(image.id, tags=["a", "b", "c", "d"])
    assert [t.name for t in tim.get_image(image.id).tags] == ["a", "b", "c"]
    default = in_memory_manager()
    assert len(default.create_image(created_by="a", filename="a", size=1, tags=TOO_MANY_TAGS[:256]).image.tags) == 256


def test_names_are_one_name_whichever_way_they_are_spelled(tim):
    composed, decomposed = "Sch\u00e4del", "Scha\u0308del"
    tag = tim.create_tag(decomposed)
    assert tag.name == composed
    with pytest.raises(TagNameTaken):
        tim.create_tag(composed)
    image = tim.upload_image(created_by="a", filename="Re\u0301sume\u0301.dcm", data=b"1", tags=[composed, decomposed])
    assert image.filename == "R\u00e9sum\u00e9.dcm" and [t.id for t in image.tags] == [tag.id]
    assert [i.id for i in tim.search_images(exact_tags=decomposed).results] == [image.id]
    assert [i.id for i in tim.search_images(match_tags="scha\u0308%").results] == [image.id]


def test_a_download_reads_the_one_range_asked_for(tim):
    image = tim.upload_image(created_by="a", filename="a", data=b"0123456789")
    key, params = signed(image.url)
    part = tim.open_download(key, params, "bytes=2-4")
    assert part.byte_range == ByteRange(2, 5, 10) and b"".join(part.chunks) == b"234"
    whole = tim.open_download(key, params, "bytes=0-1,5-6")  # several ranges: the whole file
    assert whole.byte_range is None and b"".join(whole.chunks) == b"0123456789"
    with pytest.raises(RangeNotSatisfiable):
        tim.open_download(key, params, "bytes=10-")
    with pytest.raises(AccessDenied):  # the signature is checked before anything else
        tim.open_download(key, params | {"signature": "0" * 64}, "bytes=10-")


def test_of_racing_deletes_of_one_image_one_succeeds_and_the_others_find_nothing():
    import threading

    from tim.adapters.memory.repository import MemoryRepository

    class AllFindItBeforeAnyDeletes(MemoryRepository):
        def delete_image(self, image_id, **options):
            arrived.wait()
            return super().delete_image(image_id, **options)

    arrived = threading.Barrier(10)
    tim = in_memory_manager(repository=AllFindItBeforeAnyDeletes())
    image = tim.upload_image(created_by="a", filename="a.png", data=b"1")
    outcomes = []

    def delete():
        try:
            tim.delete_image(image.id)
            outcomes.append("deleted")
        except NotFound:
            outcomes.append("not found")

    threads = [threading.Thread(target=delete) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["deleted"] + ["not found"] * 9
