"""Use cases for history: an image's events, and every image's, by cursor."""

from __future__ import annotations

from attrs import frozen

from tim.domain.model.errors import NotFound
from tim.domain.model.history import Event, HistoryQuery
from tim.domain.model.images import parse_image_id
from tim.domain.model.paging import CursorPage, PageRequest
from tim.domain.use_cases.parts import Ports, Records


@frozen
class History:
    ports: Ports
    records: Records

    def image_history(self, image_id: object) -> list[Event]:
        """The image's events, newest first; kept after it is deleted.
        NotFound for an id that names no image, now or ever."""
        number = parse_image_id(image_id)
        events = [] if number is None else self.ports.repository.history(HistoryQuery(image_id=number))
        if not events and (number is None or self.ports.repository.get_image(number) is None):
            raise NotFound(f"image {image_id} has no history")
        return events

    def list_history(
        self,
        *,
        since: object = None,
        by: object = None,
        image_id: object = None,
        limit: object = None,
        cursor: object = None,
    ) -> CursorPage[Event]:
        """Events of every image (and of tags), newest first, `limit` at a
        time; filters: since (a time, inclusive), by (a principal),
        image_id. A page's `next_cursor` asks for the one after it."""
        query = HistoryQuery.parse(since, by, image_id)
        request = self.ports.page_request(query.scope, None, limit, cursor)
        events = self.ports.repository.history(query, after=request.after, limit=request.limit + 1)
        more = len(events) > request.limit
        events = events[: request.limit]
        cursor_after = self.ports.cursors.seal(events[-1].key, query.scope) if more else None
        return CursorPage(tuple(events), more, cursor_after)
