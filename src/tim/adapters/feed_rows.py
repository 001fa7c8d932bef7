"""Changes of the feed as the text that SQL repositories keep in a row:
a JSON object naming the kind of change and its fields."""

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
