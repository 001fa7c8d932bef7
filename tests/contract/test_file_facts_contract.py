"""File facts and derived objects, on every repository and blob store."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from searchable import v1_query
from tim.domain.model.facts import DICOM_ALLOWLIST, DicomAttributes, FileFacts
from tim.domain.model.images import NewImage, derived_key, new_blob_key
from tim.domain.model.paging import PageRequest

CT = DicomAttributes.allowed({"Modality": "CT", "Rows": 512, "Columns": 512, "StudyInstanceUID": "1.2.3.4"})


def new_image(*, sha256=None, uploaded=None, facts=None, created=1_000):
    image = NewImage(
        filename="scan.dcm",
        size=10,
        created_by="ana",
        created_timestamp=created,
        blob_key=new_blob_key(),
        tag_names=("CT",),
        uploaded_timestamp=uploaded,
        sha256=sha256,
    )
    return image if facts is None else image.with_facts(facts)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_facts_round_trip_with_a_one_shot_upload(repository):
    added = repository.add_image(new_image(uploaded=1_000, facts=FileFacts(digest("a"), "application/dicom", CT)))
    assert (added.sha256, added.content_type, added.dicom) == (digest("a"), "application/dicom", CT)
    assert repository.get_image(added.id) == added
    assert repository.get_image_by_blob_key(added.blob_key) == added


def test_facts_arrive_with_the_upload_and_stay(repository):
    pending = repository.add_image(new_image(sha256=digest("declared")))
    assert (pending.sha256, pending.content_type, pending.dicom) == (digest("declared"), None, None)
    facts = FileFacts(digest("declared"), "image/png", None)
    marked = repository.mark_uploaded(pending.id, 2_000, facts)
    assert (marked.uploaded_timestamp, marked.sha256, marked.content_type, marked.dicom) == (
        2_000,
        digest("declared"),
        "image/png",
        None,
    )
    again = repository.mark_uploaded(pending.id, 3_000, FileFacts(digest("other"), "image/jpeg", CT))
    assert again == marked == repository.get_image(pending.id)
    # Seen the same way through the search index's reads (its records are cached).
    assert repository.find_images(v1_query(), PageRequest()).results == (marked,)


def test_images_are_found_by_sha256(repository):
    one = repository.add_image(new_image(uploaded=1_000, facts=FileFacts(digest("x"), "image/png", None)))
    two = repository.add_image(new_image(uploaded=1_000, facts=FileFacts(digest("x"), "image/png", None)))
    declared = repository.add_image(new_image(sha256=digest("x")))
    repository.add_image(new_image(uploaded=1_000, facts=FileFacts(digest("y"), "image/png", None)))
    repository.add_image(new_image())
    found = repository.images_with_sha256(digest("x"))
    assert sorted(found, key=lambda image: image.id) == [one, two, declared]
    assert repository.images_with_sha256(digest("z")) == []
    repository.delete_image(one.id)
    assert {image.id for image in repository.images_with_sha256(digest("x"))} == {two.id, declared.id}


@settings(max_examples=25)
@given(st.dictionaries(st.sampled_from(sorted(DICOM_ALLOWLIST)), st.text(min_size=1, max_size=70) | st.integers(0, 10**9)))
def test_any_allowlisted_attributes_round_trip(repositories, found):
    dicom = DicomAttributes.allowed(found)
    with repositories() as repository:
        added = repository.add_image(new_image(uploaded=5, facts=FileFacts(digest("d"), "application/dicom", dicom)))
        assert repository.get_image(added.id).dicom == dicom


def test_derived_objects_are_stored_listed_and_deleted_with_their_file(blob_store):
    key, other = new_blob_key(), new_blob_key()
    for name in (key, other):
        blob_store.put(name, [b"file"], 4)
    preview, other_preview = derived_key(key, "preview64"), derived_key(other, "preview64")
    blob_store.put(preview, [b"png-64"], 6)
    blob_store.put(derived_key(key, "preview256"), [b"png-256"], 7)
    blob_store.put(other_preview, [b"png"], 3)
    assert b"".join(blob_store.get(preview)) == b"png-64"
    listed = {stored.key for stored in blob_store.objects()}
    assert {preview, other_preview, derived_key(key, "preview256")} <= listed
    blob_store.delete(key)
    assert {stored.key for stored in blob_store.objects()} == {other, other_preview}
    blob_store.delete(other_preview)  # a derived object alone
    assert {stored.key for stored in blob_store.objects()} == {other}
    assert blob_store.stat(other) == 4


def test_upload_urls_may_carry_a_declared_checksum(blob_store):
    key, sha256 = new_blob_key(), digest("bytes")
    url = blob_store.upload_url(key, 5, 1_800_000_000, sha256)
    headers = blob_store.upload_headers(sha256)
    assert url.startswith("http") and blob_store.upload_headers(None) == {}
    if blob_store.completes_on_put:  # tim checks what it receives against the record
        assert headers == {}
    else:  # the store checks: the checksum is signed, and the client must send it
        assert "x-amz-checksum-sha256" in url and set(headers) == {"x-amz-checksum-sha256"}
    assert blob_store.stored_sha256(key) is None
