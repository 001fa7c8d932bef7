"""Hypothesis strategies shared by the domain, contract and stateful tests.

Alphabets are small on purpose, so that names collide, patterns match and
the tricky characters show up often: the wildcard, the characters that are
special in SQL LIKE or regular expressions, and Unicode letters whose case
folding changes their length or is not one-to-one."""

from hypothesis import strategies as st

TRICKY = "aAbB_\\%.*?[]()^$+ßẞSsİiIıΣσςǅǆ-"
tag_alphabet = st.sampled_from(TRICKY)

tag_names = st.text(tag_alphabet, min_size=1, max_size=6).filter(lambda s: s.strip() == s and s)
patterns = st.text(st.sampled_from(TRICKY + "%%%"), min_size=1, max_size=6).filter(lambda s: s.strip() == s and s)
tag_lists = st.lists(tag_names, max_size=4)
timestamps = st.integers(min_value=1_000, max_value=1_010)
filenames = st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="/\\"), min_size=1, max_size=30)


@st.composite
def image_specs(draw):
    """What an image is made of: (created_timestamp, tag names, uploaded?)."""
    return draw(timestamps), draw(tag_lists), draw(st.booleans())
