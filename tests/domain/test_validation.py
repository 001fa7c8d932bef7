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

from strategies import UNICODE_TRICKY, filenames, unicode_texts

# White space to trim: what Unicode calls so, less the information separators
# U+001C..U+001F, which are control characters (and so refused, not trimmed).
SPACE = "".join({c for c in map(chr, range(0x110000)) if c.isspace()} - set("\x1c\x1d\x1e\x1f"))
# Control, format (bidi overrides, zero-width spaces, BOM...) and surrogate code points.
INVISIBLE = ("Cc", "Cf", "Cs")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def visible(text: str) -> bool:
    return all(unicodedata.category(c) not in INVISIBLE for c in text)


def acceptable_tag_name(text: str) -> bool:
    """API-DECISIONS.md, restated independently: in NFC and trimmed, 1..160
    characters, no `|`, no control or format characters (and nothing that
    cannot be stored as UTF-8)."""
    name = nfc(text).strip(SPACE)
    return 1 <= len(name) <= 160 and "|" not in name and visible(name)


names_to_try = st.one_of(
    st.text(max_size=170),
    st.text(st.sampled_from("ab |\t\n\x00\x7f\x1c\x1f\u0085 \u2028\u3000é\u200b\u202e\ufeff"), max_size=12),
    st.text(st.sampled_from(UNICODE_TRICKY), max_size=170),
    st.integers(0, 170).map(lambda n: "x" * n),
    st.integers(150, 170).map(lambda n: "e\u0301" * n),  # 300+ code points, n after NFC
)


@given(names_to_try)
def test_tag_names_are_accepted_exactly_when_the_rule_says(text):
    if acceptable_tag_name(text):
        assert parse_tag_name(text) == nfc(text).strip(SPACE)
    else:
        with pytest.raises(InvalidInput) as error:
            parse_tag_name(text)
        assert error.value.problems[0].field == "name"


def outcome(parse, text):
    """What parsing makes of `text`: the value, or the fields at fault."""
    try:
        return parse(text)
    except InvalidInput as error:
        return [problem.field for problem in error.problems]


@given(unicode_texts)
def test_composed_and_decomposed_spellings_are_one_name(text):
    composed, decomposed = nfc(text), unicodedata.normalize("NFD", text)
    for parse in (parse_tag_name, parse_filename, lambda t: parse_terms("exact_tags", t)):
        assert outcome(parse, composed) == outcome(parse, decomposed) == outcome(parse, text)


@given(unicode_texts)
def test_every_parsed_name_is_nfc_and_visible(text):
    for parse in (parse_tag_name, parse_filename):
        name = outcome(parse, text)
        if isinstance(name, str):
            assert nfc(name) == name and visible(name)


@pytest.mark.parametrize(
    "name", ["\u202eevil", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen", "a\u2066isolate\u2069"]
)
def test_format_characters_are_refused_in_names_and_filenames(name):
    with pytest.raises(InvalidInput, match="^name: must not contain"):
        parse_tag_name(name)
    with pytest.raises(InvalidInput, match="^filename: must not contain"):
        parse_filename(name + ".png")
    with pytest.raises(InvalidInput, match="^exact_tags: must not contain"):
        parse_terms("exact_tags", f"ok|{name}")


def test_length_limits_apply_to_the_normalized_name():
    assert parse_tag_name("e\u0301" * 160) == "é" * 160
    assert parse_filename("e\u0301" * 255) == "é" * 255
    with pytest.raises(InvalidInput, match="^name: must be at most 160"):
        parse_tag_name("\u0958" * 81)  # a composition exclusion: two code points each in NFC


@pytest.mark.parametrize("value", [None, 3, ["a"], b"a"])
def test_tag_names_must_be_text(value):
    with pytest.raises(InvalidInput, match="name: must be a string"):
        parse_tag_name(value)


def test_tag_lists_collapse_repeats_and_name_the_bad_entry():
    assert parse_tag_names([" a", "b", "a ", "b"]) == ("a", "b")
    assert parse_tag_names(["é", "e\u0301"]) == ("é",)  # one name, two spellings
    assert parse_tag_names(None) == ()
    with pytest.raises(InvalidInput) as error:
        parse_tag_names(["ok", "bad|name"])
    assert error.value.problems[0].field == "tags[1]"
    with pytest.raises(InvalidInput, match="tags: must be a list"):
        parse_tag_names("a,b")


def test_tag_lists_have_a_maximum_once_repeats_are_collapsed():
    names = [f"t{n}" for n in range(4)]
    assert parse_tag_names(names * 3, maximum=4) == tuple(names)
    with pytest.raises(InvalidInput, match="^tags: must name at most 3 tags"):
        parse_tag_names(names, maximum=3)


@pytest.mark.parametrize("filename", ["", "a/b", "a\\b", "a\x00b", "a\nb", "x" * 256, " ", "\u3000 \u2002", "\u202egnp.exe"])
def test_bad_filenames(filename):
    with pytest.raises(InvalidInput, match="^filename: "):
        parse_filename(filename)


@pytest.mark.parametrize("filename", ["scan.dcm", "x" * 255, "Ünïcødé 画像.dcm", " spaces .png", ".."])
def test_good_filenames(filename):
    assert parse_filename(filename) == filename


@given(filenames)
def test_every_visible_nfc_filename_is_kept_as_given(filename):
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
