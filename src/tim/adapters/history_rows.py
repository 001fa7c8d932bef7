"""History events as the rows SQL repositories keep (names and details as
JSON text, the rest as columns), and the statements both of them run on
the history table, written for either placeholder (`mark`: ? or %s)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tim.domain.model.history import Event, HistoryQuery, NewEvent

HISTORY_COLUMNS = "id, at, actor, action, image_id, added, removed, details"
_INSERT = "INSERT INTO history (at, actor, action, image_id, added, removed, details)"


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


def insert_events(mark: str) -> str:
    """The statement recording one event (of event_row's values)."""
    return f"{_INSERT} VALUES ({', '.join([mark] * 7)})"


def events_of_images(tag_id: int, template: NewEvent, had: tuple[int, NewEvent] | None, mark: str) -> tuple[str, tuple]:
    """The statement recording `template` for each image carrying the tag, in
    id order (so ids follow as the in-memory repository gives them); with
    `had`, (another tag, an event), that event's `added` for those carrying both."""
    at, actor, action, _, added, removed, details = event_row(template)
    if had is None:
        added_sql, added_params = mark, (added,)
    else:
        added_sql = f"CASE WHEN EXISTS (SELECT 1 FROM image_tags y WHERE y.image_id = x.image_id AND y.tag_id = {mark})"
        added_sql += f" THEN {mark} ELSE {mark} END"
        added_params = (had[0], event_row(had[1])[4], added)
    sql = (
        f"{_INSERT} SELECT {mark}, {mark}, {mark}, x.image_id, {added_sql}, {mark}, {mark}"
        f" FROM image_tags x WHERE x.tag_id = {mark} ORDER BY x.image_id"
    )
    return sql, (at, actor, action, *added_params, removed, details, tag_id)


def select_events(
    query: HistoryQuery, after: Sequence[int] | None, limit: object, mark: str
) -> tuple[str, tuple]:
    """The statement reading the events the query selects, newest first, older
    than the key `after` (at, id), at most `limit` (the store's "no limit" for all)."""
    conditions, params = [], []
    for column, value in (("at >=", query.since), ("actor =", query.by), ("image_id =", query.image_id)):
        if value is not None:
            conditions.append(f"{column} {mark}")
            params.append(value)
    if after is not None:
        conditions.append(f"(at, id) < ({mark}, {mark})")
        params += after
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {HISTORY_COLUMNS} FROM history {where} ORDER BY at DESC, id DESC LIMIT {mark}", (*params, limit)
