"""Records the index has lately served, kept for the pages that show them
again: the newest pages, and the same images under other filters.

Exact, because the index follows every change: each change it applies
forgets the records it touches (all of them for a tag renamed, deleted or
merged, whose name is in every record that carries it; an alias is in none), and a record is kept only
if nothing changed between the snapshot it was read in and the keeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from tim.domain.model.changes import AliasRemoved, Change, TagAdded
from tim.domain.model.images import ImageRecord

# At a few hundred bytes a record: some megabytes.
KEPT_RECORDS = 20_000


class RecentRecords:
    def __init__(self, capacity: int = KEPT_RECORDS):
        self._capacity = capacity
        self._records: dict[int, ImageRecord] = {}

    def forget(self, change: Change) -> None:
        image_id = getattr(change, "image_id", None)
        if image_id is not None:
            self._records.pop(image_id, None)
        elif not isinstance(change, (TagAdded, AliasRemoved)):  # renamed, deleted, merged: in every record with it
            self._records.clear()

    def clear(self) -> None:
        self._records.clear()

    def known(self, ids: Iterable[int]) -> list[ImageRecord | None]:
        """The record of each id, None for those not kept."""
        return list(map(self._records.get, ids))

    def keep(self, records: Sequence[ImageRecord]) -> None:
        if len(self._records) + len(records) > self._capacity:
            for image_id in list(islice(self._records, self._capacity // 2)):  # the oldest half
                del self._records[image_id]
        for record in records:
            self._records[record.id] = record
