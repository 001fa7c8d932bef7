"""File facts and previews through the use cases, on every upload path,
with the in-memory parts (the contract suites hold the other adapters to
the same)."""

import hashlib
import io

import pytest
from PIL import Image

import imaging_samples as samples
from domain.managers import in_memory_manager
from tim.domain.model.errors import AlreadyUploaded, ChecksumMismatch, Conflict, InvalidInput, UnsupportedMediaType, UploadIncomplete
from tim.domain.model.images import derived_key

MAX = 10_000_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manager(**options):
    return in_memory_manager(max_image_bytes=MAX, **options)


def chunked(data: bytes, size: int = 1000):
    return (data[i : i + size] for i in range(0, len(data), size))


def put_to_store(tim, image, data):
    """What a client does with a direct-upload store's URL: the bytes land beside tim."""
    tim.ports.blobs.put(image.blob_key, [data], len(data))


def test_every_upload_path_records_the_facts_of_the_bytes():
    tim, data = manager(), samples.identified_ct()
    one_shot = tim.upload_image(created_by="ana", filename="a.png", data=data)  # the name does not decide the type
    created = tim.create_image(created_by="ana", filename="b.dcm", size=len(data))
    streamed = tim.upload_file(created.image.id, chunked(data))
    in_chunks = tim.upload_image(created_by="ana", filename="c", data=chunked(data), size=len(data))
    for image in (one_shot, streamed, in_chunks):
        assert (image.sha256, image.content_type) == (sha(data), "application/dicom")
        assert image.dicom.as_dict()["Modality"] == "CT" and image.dicom.as_dict()["BodyPartExamined"] == "CHEST"
        assert tim.get_image(image.id) == image
        assert not any(secret in repr(image) for secret in samples.SECRETS)


def test_facts_are_null_until_the_file_is_stored():
    tim = manager()
    created = tim.create_image(created_by="ana", filename="b.dcm", size=10)
    assert (created.image.sha256, created.image.content_type, created.image.dicom) == (None, None, None)
    assert created.upload_headers == {}


@pytest.mark.parametrize(
    "make, content_type, dicom",
    [
        (samples.png, "image/png", False),
        (samples.jpeg, "image/jpeg", False),
        (samples.truncated_dicom, "application/dicom", False),
        (samples.text_named_dcm, "application/octet-stream", False),
        (samples.multi_frame, "application/dicom", True),
    ],
)
def test_what_the_bytes_are_not_what_the_name_says(make, content_type, dicom):
    image = manager().upload_image(created_by="ana", filename="scan.dcm", data=make())
    assert image.content_type == content_type
    assert (image.dicom is not None) is dicom


def test_an_empty_file_is_refused():
    with pytest.raises(InvalidInput):
        manager().upload_image(created_by="ana", filename="empty.dcm", data=b"")


def test_declared_bytes_must_match_and_the_record_stays_pending():
    tim, data = manager(), samples.png()
    created = tim.create_image(created_by="ana", filename="a.png", size=len(data), sha256=sha(data).upper())
    wrong = bytearray(data)
    wrong[-1] ^= 1
    with pytest.raises(ChecksumMismatch):
        tim.upload_file(created.image.id, [bytes(wrong)])
    assert not tim.get_image(created.image.id).is_uploaded
    assert tim.ports.blobs.stat(created.image.blob_key) is None
    assert tim.upload_file(created.image.id, chunked(data)).sha256 == sha(data)
    with pytest.raises(ChecksumMismatch):
        tim.upload_image(created_by="ana", filename="b.png", data=bytes(wrong), sha256=sha(data))
    assert [o.key for o in tim.ports.blobs.objects()] == [created.image.blob_key]


def test_duplicates_are_found_by_sha256_with_the_other_filters():
    tim, data = manager(), samples.jpeg()
    first = tim.upload_image(created_by="ana", filename="a.jpg", data=data)
    tim.upload_image(created_by="bo", filename="other.jpg", data=samples.png())
    second = tim.upload_image(created_by="bo", filename="b.jpg", data=data)
    pending = tim.create_image(created_by="ana", filename="c.jpg", size=len(data), sha256=sha(data)).image
    page = tim.list_images(sha256=sha(data))
    assert [image.id for image in page.results] == [pending.id, second.id, first.id]
    assert page.total_results == 3 and not page.has_more_pages
    assert [image.id for image in tim.list_images(sha256=sha(data), uploaded_only="true").results] == [second.id, first.id]
    assert [image.id for image in tim.list_images(sha256=sha(data), created_by="bo").results] == [second.id]
    paged = tim.list_images(sha256=sha(data), limit=1, page=1)
    assert [image.id for image in paged.results] == [second.id] and paged.has_more_pages
    assert tim.list_images(sha256="0" * 64).results == ()
    with pytest.raises(InvalidInput):
        tim.list_images(sha256="not a digest")


def test_a_direct_upload_is_read_for_its_facts_when_confirmed():
    tim, data = manager(direct_uploads=True), samples.mr()
    created = tim.create_image(created_by="ana", filename="mr.dcm", size=len(data))
    put_to_store(tim, created.image, data)
    confirmed = tim.complete_upload(created.image.id)
    assert (confirmed.sha256, confirmed.content_type, confirmed.dicom.as_dict()["Modality"]) == (sha(data), "application/dicom", "MR")


def test_a_direct_upload_of_other_bytes_than_declared_is_removed_and_stays_pending():
    tim, data = manager(direct_uploads=True), samples.mr()
    created = tim.create_image(created_by="ana", filename="mr.dcm", size=len(data), sha256=sha(data))
    put_to_store(tim, created.image, bytes(len(data)))  # a store that did not check the checksum
    with pytest.raises(UploadIncomplete, match="SHA-256"):
        tim.complete_upload(created.image.id)
    assert not tim.get_image(created.image.id).is_uploaded
    assert tim.ports.blobs.stat(created.image.blob_key) is None
    put_to_store(tim, created.image, data)
    assert tim.complete_upload(created.image.id).sha256 == sha(data)


def test_the_sweep_confirms_with_facts_and_rejects_wrong_content():
    tim = manager(direct_uploads=True)
    good, bad = samples.png(), samples.jpeg()
    right = tim.create_image(created_by="ana", filename="a", size=len(good)).image
    wrong = tim.create_image(created_by="ana", filename="b", size=len(bad), sha256=sha(good[: len(bad)])).image
    put_to_store(tim, right, good)
    put_to_store(tim, wrong, bad)
    report = tim.reconcile()
    assert (report.completed, report.rejected) == (1, 1)
    assert tim.get_image(right.id).content_type == "image/png"
    assert not tim.get_image(wrong.id).is_uploaded


def preview_of(tim, image_id, size=None):
    return Image.open(io.BytesIO(tim.preview(image_id, size=size)))


@pytest.mark.parametrize("kind", sorted(samples.RENDERABLE))
def test_a_preview_of_each_renderable_kind_is_a_png_that_fits(kind):
    make, dimensions = samples.RENDERABLE[kind]
    tim = manager()
    image = tim.upload_image(created_by="ana", filename="x", data=make())
    for size in (64, None, "100"):
        picture = preview_of(tim, image.id, size)
        assert picture.format == "PNG"
        assert picture.size == samples.fitted(dimensions, 256 if size is None else int(size))


def test_previews_are_made_once_kept_beside_the_file_and_go_with_it():
    tim = manager()
    renders = []
    render = tim.ports.previews.render
    tim.ports.previews.render = lambda *args: renders.append(args[1:]) or render(*args)
    image = tim.upload_image(created_by="ana", filename="ct.dcm", data=samples.ct())
    first = tim.preview(image.id, size=64)
    kept = derived_key(image.blob_key, "preview64")
    assert b"".join(tim.ports.blobs.get(kept)) == first
    assert tim.preview(image.id, size=64) == first and tim.preview(image.id, size="64") == first
    assert renders == [("application/dicom", 64)]  # made once
    tim.ports.clock.advance(10)
    assert tim.reconcile(remove_orphans=True, orphan_grace=0).orphans == 0  # its image exists: left alone
    assert tim.ports.blobs.stat(kept) == len(first)
    tim.delete_image(image.id)
    assert list(tim.ports.blobs.objects()) == []


def test_an_orphaned_preview_is_swept():
    tim = manager()
    image = tim.upload_image(created_by="ana", filename="ct.dcm", data=samples.ct())
    tim.preview(image.id, size=64)
    tim.ports.repository.delete_image(image.id)  # the record went, and the process died before the files did
    tim.ports.clock.advance(10)
    assert tim.reconcile(remove_orphans=True, orphan_grace=0).orphans == 2
    assert list(tim.ports.blobs.objects()) == []


def test_a_preview_needs_a_stored_renderable_file():
    tim = manager()
    pending = tim.create_image(created_by="ana", filename="a.dcm", size=10).image
    with pytest.raises(Conflict):
        tim.preview(pending.id)
    for make in (samples.text_named_dcm, samples.truncated_dicom):
        image = tim.upload_image(created_by="ana", filename="a.dcm", data=make())
        with pytest.raises(UnsupportedMediaType):
            tim.preview(image.id)
    image = tim.upload_image(created_by="ana", filename="a.dcm", data=samples.undecodable())
    with pytest.raises(UnsupportedMediaType, match=r"MPEG2 .*1\.2\.840\.10008\.1\.2\.4\.100"):
        tim.preview(image.id)
    for size in ("63", "1025", "x", 0):
        with pytest.raises(InvalidInput):
            tim.preview(image.id, size=size)


def test_a_dicom_preview_is_not_blank_and_monochrome1_is_inverted():
    tim = manager()
    plain = tim.upload_image(created_by="ana", filename="a", data=samples.ct())
    inverted = tim.upload_image(created_by="ana", filename="b", data=samples.monochrome1())
    normal, negative = (preview_of(tim, i.id, 128).convert("L") for i in (plain, inverted))
    pixels, inverse = normal.tobytes(), negative.tobytes()
    assert max(pixels) - min(pixels) > 100  # not a constant picture
    assert all(abs(a + b - 255) <= 1 for a, b in zip(pixels, inverse))


def test_a_multi_frame_preview_shows_the_middle_frame():
    tim = manager()
    image = tim.upload_image(created_by="ana", filename="mf.dcm", data=samples.multi_frame())
    picture = preview_of(tim, image.id).convert("L")
    row = [picture.getpixel((x, 0)) for x in range(picture.size[0])]
    # Only the middle frame has a gradient along its rows (the others are flat).
    assert row == sorted(row) and row[-1] - row[0] > 200


def test_the_embedding_api_reads_a_stored_file():
    tim, data = manager(), samples.png()
    image = tim.upload_image(created_by="ana", filename="a.png", data=data)
    assert b"".join(tim.read_file(image.id).chunks) == data
    assert b"".join(tim.read_file(image.id, "bytes=0-7").chunks) == data[:8]
    with pytest.raises(Conflict):
        tim.read_file(tim.create_image(created_by="ana", filename="b", size=3).image.id)
    with pytest.raises(AlreadyUploaded):
        tim.upload_file(image.id, [data])

