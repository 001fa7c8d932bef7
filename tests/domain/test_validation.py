"""The validation rules of API-DECISIONS.md, each naming the field at fault."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import parse_filename, parse_size
from tim.domain.model.paging import PageRequest
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import HasTagMatching, ImageQuery, TimeRange, Uploaded, parse_terms
from tim.domain.model.tags import parse_tag_name, parse_tag_names


# White space to trim: what Unicode calls so, less the information separators
# U+001C..U+001F, which are control characters (and so refused, not trimmed).
SPACE = "".join({c for c in map(chr, range(0x110000)) if c.isspace()} - set("\x1c\x1d\x1e\x1f"))


def acceptable_tag_name(text: str) -> bool:
    """API-DECISIONS.md, restated independently: trimmed, 1..160 characters,
    no `|`, no control characters (and nothing that cannot be stored as UTF-8)."""
    name = text.strip(SPACE)
    return 1 <= len(name) <= 160 and "|" not in name and all(unicodedata.category(c) not in ("Cc", "Cs") for c in name)


names_to_try = st.one_of(
    st.text(max_size=170),
    st.text(st.sampled_from("ab |\t\n\x00\x7f\x1c\x1f\u0085 \u2028\u3000é"), max_size=12),
    st.integers(0, 170).map(lambda n: "x" * n),
)


@given(names_to_try)
def test_tag_names_are_accepted_exactly_when_the_rule_says(text):
    if acceptable_tag_name(text):
        assert parse_tag_name(text) == text.strip(SPACE)
    else:
        with pytest.raises(InvalidInput) as error:
            parse_tag_name(text)
        assert error.value.problems[0].field == "name"


@pytest.mark.parametrize("value", [None, 3, ["a"], b"a"])
def test_tag_names_must_be_text(value):
    with pytest.raises(InvalidInput, match="name: must be a string"):
        parse_tag_name(value)


def test_tag_lists_collapse_repeats_and_name_the_bad_entry():
    assert parse_tag_names([" a", "b", "a ", "b"]) == ("a", "b")
    assert parse_tag_names(None) == ()
    with pytest.raises(InvalidInput) as error:
        parse_tag_names(["ok", "bad|name"])
    assert error.value.problems[0].field == "tags[1]"
    with pytest.raises(InvalidInput, match="tags: must be a list"):
        parse_tag_names("a,b")


@pytest.mark.parametrize("filename", ["", "a/b", "a\\b", "a\x00b", "a\nb", "x" * 256])
def test_bad_filenames(filename):
    with pytest.raises(InvalidInput, match="^filename: "):
        parse_filename(filename)


@pytest.mark.parametrize("filename", ["scan.dcm", "x" * 255, "Ünïcødé 画像.dcm", " spaces .png", ".."])
def test_good_filenames(filename):
    assert parse_filename(filename) == filename


@pytest.mark.parametrize("size", [0, -1, 11, "10", 1.5, True, None])
def test_bad_sizes(size):
    with pytest.raises(InvalidInput, match="^size: "):
        parse_size(size, maximum=10)


@pytest.mark.parametrize(
    "page, limit, field",
    [("-1", None, "page"), ("x", None, "page"), (None, "0", "limit"), (None, "101", "limit"), (None, "1.5", "limit"), (True, None, "page")],
)
def test_bad_paging_is_refused_never_clamped(page, limit, field):
    with pytest.raises(InvalidInput) as error:
        PageRequest.parse(page, limit)
    assert error.value.problems[0].field == field


@pytest.mark.parametrize("text", [" 1", "1 ", "+1", "01", "-0", "１", "1_000", "0x1", "", "1e3"])
def test_integers_as_text_have_one_spelling(text):
    with pytest.raises(InvalidInput, match="^page: must be an integer"):
        PageRequest.parse(text, None)


def test_paging_defaults_and_text():
    assert PageRequest.parse() == PageRequest(0, 100)
    assert PageRequest.parse("2", "7") == PageRequest(2, 7)
    assert PageRequest(2, 7).offset == 14


def test_time_ranges():
    assert TimeRange.parse("0", "0") == TimeRange(None, None)
    assert TimeRange.parse(5, 5) == TimeRange(5, 5)
    assert TimeRange.parse(5, None).contains(5) and not TimeRange.parse(5, None).contains(4)
    for start, end, field in [("-1", None, "start_timestamp"), (None, "x", "end_timestamp"), ("9", "8", "start_timestamp")]:
        with pytest.raises(InvalidInput) as error:
            TimeRange.parse(start, end)
        assert error.value.problems[0].field == field


@pytest.mark.parametrize("flag, value", [("true", True), ("TRUE", True), ("1", True), ("False", False), ("0", False)])
def test_uploaded_only_flags(flag, value):
    assert (ImageQuery.parse(uploaded_only=flag) == ImageQuery.of(Uploaded())) is value


@pytest.mark.parametrize("flag", ["yes", "", "2", "tru", " true", "1 "])
def test_bad_uploaded_only_flags(flag):
    with pytest.raises(InvalidInput, match="^uploaded_only: "):
        ImageQuery.parse(uploaded_only=flag)


def test_search_terms_are_pipe_delimited_and_may_repeat():
    assert parse_terms("exact_tags", "a||b|") == ("a", "b")
    assert parse_terms("exact_tags", ["a|b", "c", "a"]) == ("a", "b", "c")
    assert parse_terms("exact_tags", "|  |") == ()
    with pytest.raises(InvalidInput, match="^match_tags: "):
        parse_terms("match_tags", "x" * 161)


def test_a_search_needs_a_tag():
    with pytest.raises(InvalidInput, match="at least one tag"):
        ImageQuery.search(exact_tags="|", match_tags=None)
    assert ImageQuery.search(match_tags="ch%") == ImageQuery.of(HasTagMatching(TagPattern("ch%")))


def test_numbers_beyond_64_bits_are_out_of_range():
    with pytest.raises(InvalidInput, match="^page: must be at most"):
        PageRequest.parse(str(2**63 // 100 + 1), 100)
    with pytest.raises(InvalidInput, match="^page: must be at most"):
        PageRequest.parse("9" * 30, 100)
    with pytest.raises(InvalidInput, match="^page: must be at least 0"):
        PageRequest.parse("-" + "9" * 30, 100)
    with pytest.raises(InvalidInput, match="^end_timestamp: must be at most"):
        TimeRange.parse(None, str(2**63))


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x" * 256])
def test_a_created_by_filter_follows_the_rule_for_principals(value):
    with pytest.raises(InvalidInput) as raised:
        ImageQuery.parse(created_by=value)
    assert raised.value.problems[0].field == "created_by"
