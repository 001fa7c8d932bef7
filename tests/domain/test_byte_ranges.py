"""Range headers of downloads (RFC 9110 section 14), checked against
Python's slicing of the file's bytes as the reference."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tim.domain.model.downloads import ByteRange
from tim.domain.model.errors import RangeNotSatisfiable

positions = st.none() | st.integers(0, 60)


def expected_bytes(data: bytes, first: int | None, last: int | None) -> bytes | None:
    """What `bytes=first-last` selects, by slicing; None when nothing can be sent."""
    if first is None:
        return data[-last:] if last else None  # a suffix; data[-0:] would be everything
    if first >= len(data) or (last is not None and last < first):
        return None
    return data[first : None if last is None else last + 1]


@given(st.integers(1, 50), positions, positions)
def test_a_single_range_selects_what_slicing_would(size, first, last):
    data = bytes(range(size))
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    expected = expected_bytes(data, first, last) if (first, last) != (None, None) else None
    if expected is None:
        with pytest.raises(RangeNotSatisfiable) as error:
            ByteRange.parse(header, size)
        assert error.value.size == size
        return
    part = ByteRange.parse(header, size)
    assert data[part.start : part.end] == expected and part.length == len(expected)
    assert part.content_range == f"bytes {part.start}-{part.end - 1}/{size}"


@pytest.mark.parametrize(
    "header",
    [None, "", "items=0-5", "bytes", "bytes 0-5", "bytes=0-1,4-5", "bytes=0-1, -2", "bytes=-1,,0-0", "bytes=9-,0-1"],
)
def test_no_range_other_units_and_several_ranges_get_the_whole_file(header):
    assert ByteRange.parse(header, 10) is None


@pytest.mark.parametrize("header", ["bytes=", "bytes=-", "bytes=a-b", "bytes=1-2-3", "bytes=+1-2", "bytes=--1", "bytes=,"])
def test_a_malformed_range_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        ByteRange.parse(header, 10)


def test_spellings_the_rfc_allows():
    assert ByteRange.parse("Bytes=2-3", 10) == ByteRange(2, 4, 10)
    assert ByteRange.parse("bytes= 2-3 ,", 10) == ByteRange(2, 4, 10)
    assert ByteRange.parse("bytes=0002-0003", 10) == ByteRange(2, 4, 10)
    assert ByteRange.parse("bytes=2-" + "9" * 5000, 10) == ByteRange(2, 10, 10)  # past the end: to the end
    assert ByteRange.parse("bytes=-" + "9" * 5000, 10) == ByteRange(0, 10, 10)
    with pytest.raises(RangeNotSatisfiable):
        ByteRange.parse("bytes=" + "9" * 5000 + "-", 10)
