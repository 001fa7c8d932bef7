"""History events as the rows SQL repositories keep: names and details as
JSON text, the rest as columns (in HISTORY_COLUMNS order)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tim.domain.model.history import Event, NewEvent

HISTORY_COLUMNS = "id, at, actor, action, image_id, added, removed, details"


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def event_row(event: NewEvent) -> tuple:
    """(at, actor, action, image_id, added, removed, details) of a new event."""
    names = _json(event.added), _json(event.removed)
    return (event.at, event.by, event.action, event.image_id, *names, _json(event.details))


def stored_event(stored: Sequence) -> Event:
    event_id, at, actor, action, image_id, added, removed, details = stored
    names = tuple(json.loads(added)), tuple(json.loads(removed))
    return Event(event_id, at, actor, action, image_id, *names, json.loads(details))
