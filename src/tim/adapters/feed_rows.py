"""The change feed in SQL repositories: each change is the text of a row
(a JSON object naming the kind of change and its fields), and the table
keeps the recent ones."""

from __future__ import annotations

import json

from cattrs import Converter

from tim.domain.model.changes import CHANGE_TYPES, Change

_KINDS = {kind.__name__: kind for kind in CHANGE_TYPES}
_converter = Converter()


def encode(change: Change) -> str:
    return json.dumps({"kind": type(change).__name__, **_converter.unstructure(change)}, separators=(",", ":"))


def decode(text: str) -> Change:
    fields = json.loads(text)
    return _converter.structure(fields, _KINDS[fields.pop("kind")])


# The feed keeps this many changes, trimmed every FEED_TRIM_EVERY changes: a
# follower further behind rebuilds from the tables.
FEED_KEPT = 100_000
FEED_TRIM_EVERY = 1_000


def trim_up_to(first: int, last: int) -> int | None:
    """After changes `first`..`last` were added: the sequence number up to
    which older changes go now, or None when it is not time to trim."""
    if (first - 1) // FEED_TRIM_EVERY == last // FEED_TRIM_EVERY:
        return None
    return last - FEED_KEPT
