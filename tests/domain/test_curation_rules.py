"""The curation rules of the domain on their own: cursors, tag listings,
collisions, tag edits, alias resolution of queries, history filters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import conditions, pooled_names
from tim.domain.model.cursors import Cursors
from tim.domain.model.edits import MAX_BULK_IMAGES, TagEdit, parse_image_ids
from tim.domain.model.errors import InvalidInput
from tim.domain.model.history import HistoryQuery
from tim.domain.model.paging import PageRequest
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import AllOf, AnyOf, HasTag, HasTagMatching, ImageQuery, Not, walk
from tim.domain.model.tags import Tag, TagListing, TagRecord, collisions

CURSORS = Cursors(b"k" * 32)


def field_of(raised: pytest.ExceptionInfo) -> str:
    return raised.value.problems[0].field


@given(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1)), st.text())
def test_a_cursor_opens_to_the_key_it_was_sealed_with(key, scope):
    assert CURSORS.open(CURSORS.seal(key, scope), scope, 2) == key


def test_a_changed_cursor_is_refused():
    sealed = CURSORS.seal((1_700_000_000, 42), "images AllOf()")
    every = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(len(sealed)):
        # The last character also carries bits that encode nothing: those too.
        for other in every if position == len(sealed) - 1 else "AB_-z9":
            if other == sealed[position]:
                continue
            changed = sealed[:position] + other + sealed[position + 1 :]
            with pytest.raises(InvalidInput, match="not a cursor from this service") as raised:
                CURSORS.open(changed, "images AllOf()", 2)
            assert field_of(raised) == "cursor"
    with pytest.raises(InvalidInput, match="not a cursor"):
        Cursors(b"another key of 32 bytes.........").open(sealed, "images AllOf()", 2)


@pytest.mark.parametrize("text", ["", "!!!!", "a" * 500, "é", "AQ==", 17, None, b"AQAA"])
def test_malformed_cursors_are_refused(text):
    with pytest.raises(InvalidInput, match="not a cursor"):
        CURSORS.open(text, "s", 2)


def test_a_cursor_is_bound_to_its_filters():
    sealed = CURSORS.seal((5, 6), ImageQuery(HasTag("a")).scope)
    with pytest.raises(InvalidInput, match="other filters"):
        CURSORS.open(sealed, ImageQuery(HasTag("b")).scope, 2)


def test_a_short_key_cannot_seal_cursors():
    with pytest.raises(ValueError):
        Cursors(b"short")


def test_a_page_follows_a_key_or_has_a_number_not_both():
    with pytest.raises(InvalidInput, match="not both"):
        PageRequest(1, 10, (5, 6))
    assert PageRequest.following((5, 6), 10).after == (5, 6)


def record(tag_id, name, count=0):
    return TagRecord(Tag(tag_id, name), count)


def test_a_prefix_listing_is_most_used_first_ties_alphabetical():
    records = [record(1, "lung", 3), record(2, "Lunge", 7), record(3, "LUNG x", 3), record(4, "liver", 9)]
    records.append(record(5, "ct", 9))
    assert [r.id for r in TagListing.parse("LU").select(records)] == [2, 1, 3]
    assert [r.id for r in TagListing.parse("").select(records)] == [5, 4, 2, 1, 3]
    assert [r.id for r in TagListing().select(records)] == [5, 4, 1, 3, 2]


def test_a_prefix_is_folded_and_nfc():
    assert TagListing.parse("Scha\u0308").folded_prefix == "schä"
    assert TagListing.parse("STRASS").matches(record(1, "straße"))


@pytest.mark.parametrize("prefix", ["a\u202e", "a\x00", "a|b", "x" * 161, 5])
def test_a_bad_prefix_is_refused(prefix):
    with pytest.raises(InvalidInput) as raised:
        TagListing.parse(prefix)
    assert field_of(raised) == "prefix"


def test_collisions_group_names_equal_after_case_folding():
    names = ["Chest", "chest", "CHEST", "CT", "straße", "STRASSE"]
    records = [record(n, name) for n, name in enumerate(names, 1)]
    found = collisions(records)
    assert [(c.folded, [r.id for r in c.tags]) for c in found] == [("chest", [3, 1, 2]), ("strasse", [6, 5])]


def test_an_edit_adds_and_removes_and_adding_wins():
    edit = TagEdit(("a", "b"), ("c",), 3)
    assert edit.applied(1, {10, 11}, [11, 12], [10, 12]) == {11, 12}
    with pytest.raises(InvalidInput, match="at most 3"):
        edit.applied(1, {10, 13, 14}, [11, 12], [])


@pytest.mark.parametrize(
    ("add", "remove", "field"), [((), (), "add"), (("a",), ("a",), "remove"), ("a", (), "add"), ((" ",), (), "add[0]")]
)
def test_an_edit_that_says_nothing_or_contradicts_itself_is_refused(add, remove, field):
    with pytest.raises(InvalidInput) as raised:
        TagEdit.parse(add, remove)
    assert field_of(raised) == field


def test_bulk_ids_are_collapsed_and_bounded():
    assert parse_image_ids([3, 1, 3]) == (3, 1)
    for wrong in ([], list(range(MAX_BULK_IMAGES + 1)), "1,2", [1, "2"], [True]):
        with pytest.raises(InvalidInput) as raised:
            parse_image_ids(wrong)
        assert field_of(raised) == "ids"


def test_exact_names_are_resolved_patterns_are_not():
    aliases = {"chest": "Chest", "ct": "CT"}
    pattern = HasTagMatching(TagPattern("chest"))
    query = ImageQuery(AllOf([HasTag("chest"), AnyOf([HasTag("ct"), HasTag("MR")]), Not(HasTag("ct")), pattern]))
    resolved = query.resolved(lambda name: aliases.get(name, name))
    assert resolved.where == AllOf([HasTag("Chest"), AnyOf([HasTag("CT"), HasTag("MR")]), Not(HasTag("CT")), pattern])
    assert query.resolved(lambda name: name) is query


@given(conditions(), st.dictionaries(pooled_names, pooled_names))
def test_resolving_replaces_exactly_the_exact_names(condition, aliases):
    resolved = ImageQuery(condition).resolved(lambda name: aliases.get(name, name)).where
    before = [c for c in walk(condition)]
    after = [c for c in walk(resolved)]
    assert len(before) == len(after)
    for old, new in zip(before, after):
        assert type(old) is type(new)
        if isinstance(old, HasTag):
            assert new == HasTag(aliases.get(old.name, old.name))
        elif not isinstance(old, (AllOf, AnyOf, Not)):
            assert new == old


@pytest.mark.parametrize(
    ("given", "field"),
    [({"since": "-1"}, "since"), ({"image_id": "0"}, "image_id"), ({"by": "a\x00"}, "by"), ({"since": "x"}, "since")],
)
def test_history_filters_are_checked(given, field):
    with pytest.raises(InvalidInput) as raised:
        HistoryQuery.parse(**given)
    assert field_of(raised) == field


def test_history_filters_bind_cursors():
    assert HistoryQuery.parse(by="ana").scope != HistoryQuery.parse(by="bo").scope
    assert HistoryQuery.parse(by="") == HistoryQuery()
