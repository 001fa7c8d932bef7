"""Match patterns against an independent reference: a regular expression
built from the pattern, applied to case-folded text."""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from strategies import TRICKY, patterns, tag_names
from tim.domain.model.patterns import TagPattern


def reference(pattern: str, name: str) -> bool:
    regex = ".*".join(re.escape(piece) for piece in pattern.casefold().split("%"))
    return re.fullmatch(regex, name.casefold(), flags=re.DOTALL) is not None


@given(patterns, tag_names)
@example("%%", "")
@example("a%%b", "ab")
@example("_", "x")
@example("\\%", "\\anything")
@example("İ%", "i̇x")
@example("ss", "ß")
@example("ς", "Σ")
def test_a_pattern_matches_exactly_what_the_reference_matches(pattern, name):
    assert TagPattern(pattern).matches(name) == reference(pattern, name)


@given(st.text(st.sampled_from(TRICKY), max_size=8), st.text(st.sampled_from(TRICKY + "%"), min_size=1, max_size=8))
def test_any_name_with_a_pattern_cut_out_of_it_matches(name, _):
    # A pattern made from the name itself with a piece replaced by % must match it.
    for start in range(len(name) + 1):
        for end in range(start, len(name) + 1):
            pattern = name[:start] + "%" + name[end:]
            assert TagPattern(pattern).matches(name)


@pytest.mark.parametrize(
    "pattern, name",
    [("CHEST", "chest"), ("Straße", "STRASSE"), ("σ", "ς"), ("İSTANBUL", "i̇stanbul"), ("ǅ", "ǆ")],
)
def test_case_insensitive_by_unicode_case_folding(pattern, name):
    assert TagPattern(pattern).matches(name)


def test_long_patterns_do_not_backtrack():
    pattern = TagPattern("%a" * 79 + "%b")  # 160 characters, the longest a term may be
    assert not pattern.matches("a" * 160)
    assert pattern.matches("a" * 80 + "b")
