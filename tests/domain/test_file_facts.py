"""The rules of file facts: content sniffing by the first bytes, and the
DICOM allowlist, checked against references written independently."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tim.domain.model.errors import InvalidInput
from tim.domain.model.facts import (
    DICOM_ALLOWLIST,
    DicomAttributes,
    Fingerprint,
    HEAD_BYTES,
    parse_sha256,
    sniff_media_type,
)

# The reference: each format's magic numbers as their specifications give them.
MAGIC = {
    "image/png": bytes.fromhex("89504e470d0a1a0a"),
    "image/jpeg": bytes.fromhex("ffd8ff"),
    "image/gif": b"GIF89a",
    "image/tiff": b"II\x2a\x00",
    "image/bmp": b"BM",
}


@given(st.binary(min_size=0, max_size=300), st.binary(min_size=0, max_size=300))
def test_the_dicm_preamble_at_128_makes_dicom_whatever_surrounds_it(preamble, rest):
    head = preamble[:128].ljust(128, b"\0") + b"DICM" + rest
    assert sniff_media_type(head) == "application/dicom"


@pytest.mark.parametrize("media_type", sorted(MAGIC))
@given(rest=st.binary(max_size=200))
def test_a_signature_at_the_start_names_its_format(media_type, rest):
    head = MAGIC[media_type] + rest
    if len(head) >= 132 and head[128:132] == b"DICM":
        return  # DICOM's preamble is 128 free bytes: it may begin with anything
    assert sniff_media_type(head) == media_type


@given(st.binary(max_size=400))
def test_bytes_without_a_known_signature_are_an_octet_stream(head):
    others = (b"MM\0*", b"GIF87a", b"\0\0\0\x0cjP  ", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\0", b"PK\3\4", b"%PDF-")
    known = any(head.startswith(magic) for magic in (*MAGIC.values(), *others))
    known = known or head[128:132] == b"DICM" or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    if not known:
        assert sniff_media_type(head) == "application/octet-stream"


def test_webp_and_an_empty_file():
    assert sniff_media_type(b"RIFF\x10\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_media_type(b"") == "application/octet-stream"
    assert sniff_media_type(b"A text file named scan.dcm") == "application/octet-stream"


IDENTIFYING = ["PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "OtherPatientIDs", "InstitutionName"]
values = st.one_of(st.text(max_size=80), st.integers(min_value=-5, max_value=10**20), st.none(), st.binary(max_size=8))
headers = st.dictionaries(st.sampled_from([*DICOM_ALLOWLIST, *IDENTIFYING]) | st.text(max_size=20), values)


@given(headers)
def test_the_allowlist_keeps_only_its_attributes_each_as_its_kind(found):
    kept = DicomAttributes.allowed(found).as_dict()
    assert set(kept) <= set(DICOM_ALLOWLIST)
    assert not set(kept) & set(IDENTIFYING)
    for name, value in kept.items():
        assert type(value) is DICOM_ALLOWLIST[name]
        if isinstance(value, str):
            assert value and value == value.strip() and len(value) <= 64 and value.isprintable()
            assert value == "".join(filter(str.isprintable, found[name])).strip()[:64]
        else:
            assert value >= 0 and str(value) == str(found[name]).strip()
    # In the allowlist's order, so that stored and shown forms are stable.
    assert list(kept) == [name for name in DICOM_ALLOWLIST if name in kept]


@given(headers)
def test_filtering_twice_changes_nothing(found):
    once = DicomAttributes.allowed(found)
    assert DicomAttributes.allowed(once.as_dict()) == once


def test_attributes_outside_the_allowlist_cannot_be_built():
    with pytest.raises(ValueError):
        DicomAttributes((("PatientName", "Doe^Jane"),))
    with pytest.raises(ValueError):
        DicomAttributes((("Rows", "512"),))


@given(st.lists(st.binary(max_size=3000), max_size=8))
def test_a_fingerprint_is_the_digest_and_head_of_the_chunks(chunks):
    fingerprint = Fingerprint()
    for chunk in chunks:
        fingerprint.update(chunk)
    whole = b"".join(chunks)
    assert fingerprint.sha256 == hashlib.sha256(whole).hexdigest()
    assert fingerprint.head == whole[:HEAD_BYTES] and fingerprint.size == len(whole)


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64))
def test_a_sha256_is_64_hex_digits_kept_in_lower_case(digest):
    assert parse_sha256(digest) == digest.lower()


@pytest.mark.parametrize("bad", ["", "0" * 63, "0" * 65, "g" * 64, 5, None, " " + "0" * 63])
def test_anything_else_is_not_a_sha256(bad):
    with pytest.raises(InvalidInput) as raised:
        parse_sha256(bad)
    assert raised.value.problems[0].field == "sha256"
