"""Hypothesis strategies shared by the domain, contract and stateful tests.

Alphabets are small on purpose, so that names collide, patterns match and
the tricky characters show up often: the wildcard, the characters that are
special in SQL LIKE or regular expressions, and Unicode letters whose case
folding changes their length or is not one-to-one."""

import unicodedata

from hypothesis import strategies as st

TRICKY = "aAbB_\\%.*?[]()^$+ßẞSsİiIıΣσςǅǆ-"
tag_alphabet = st.sampled_from(TRICKY)

tag_names = st.text(tag_alphabet, min_size=1, max_size=6).filter(lambda s: s.strip() == s and s)
patterns = st.text(st.sampled_from(TRICKY + "%%%"), min_size=1, max_size=6).filter(lambda s: s.strip() == s and s)
tag_lists = st.lists(tag_names, max_size=4)
timestamps = st.integers(min_value=1_000, max_value=1_010)
filenames = (
    st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs"), exclude_characters="/\\"), min_size=1, max_size=30)
    .map(lambda s: unicodedata.normalize("NFC", s))
    .filter(str.strip)
)
# Text for the Unicode rules of names: letters with composed and decomposed
# spellings (and a composition exclusion, U+0958, that NFC expands), combining
# marks, white space, format characters (bidi override, zero-width space,
# BOM, soft hyphen), control characters and the search delimiter.
UNICODE_TRICKY = "aeEé\u0301\u0308\u0323Å\u212b\u1e0a\u0958 \t\u3000\u2000\u200b\u202e\ufeff\u00ad\x00|"
unicode_texts = st.one_of(st.text(max_size=12), st.text(st.sampled_from(UNICODE_TRICKY), max_size=12))


@st.composite
def image_specs(draw):
    """What an image is made of: (created_timestamp, tag names, uploaded?)."""
    return draw(timestamps), draw(tag_lists), draw(st.booleans())


# A small pool of names, so that the same name is drawn again and again:
# names collide, renames land on taken names, deleted names come back. It
# holds case variants and names whose case folding changes their length.
NAME_POOL = ("lung", "Lung", "LUNG", "ct", "CT", "straße", "STRASSE", "x_ray", "İ", "i̇")
PATTERN_POOL = ("lung", "l%", "%S%", "%", "st%", "x\\_%", "%ray", "c_", "%ss%", "i̇%")
pooled_names = st.sampled_from(NAME_POOL)
pooled_patterns = st.sampled_from(PATTERN_POOL)
pooled_name_lists = st.lists(pooled_names, max_size=3)


def conditions(tag_ids=st.integers(1, 12), creators=st.sampled_from(["ana", "bo"])):
    """Query trees of every kind of condition, a few levels deep."""
    from tim.domain.model.patterns import TagPattern
    from tim.domain.model.search import (
        AllOf,
        AnyOf,
        CreatedBy,
        CreatedIn,
        HasTag,
        HasTagId,
        HasTagMatching,
        Not,
        TimeRange,
        Untagged,
        Uploaded,
    )

    ranges = st.tuples(st.none() | timestamps, st.none() | timestamps).map(
        lambda b: TimeRange(*b) if None in b or b[0] <= b[1] else TimeRange(b[1], b[0])
    )
    leaves = st.one_of(
        pooled_names.map(HasTag),
        pooled_patterns.map(lambda p: HasTagMatching(TagPattern(p))),
        tag_ids.map(HasTagId),
        st.just(Untagged()),
        st.just(Uploaded()),
        creators.map(CreatedBy),
        ranges.map(CreatedIn),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(AllOf),
            st.lists(inner, min_size=1, max_size=3).map(AnyOf),
            inner.map(Not),
        ),
        max_leaves=6,
    )
