"""The SearchIndex port on compressed bitmaps (pyroaring: CRoaring, as in
Lucene, Druid and ClickHouse), kept in this process and following the
catalogue's change feed.

The database stays the truth. Before each search the index looks at where
the feed stands (one indexed lookup) and applies the changes it has not
seen, so a change committed by any process is visible to every search that
starts after it. It builds itself from the tables when it has nothing yet,
when the feed's epoch changed (a reindex) or when the feed was trimmed past
it. Nothing of it is ever written anywhere, so a crash leaves nothing that
could disagree with the tables.

One lock: a search reads the feed's position in its own snapshot while
holding it, so the index never runs ahead of the snapshot the search then
reads its records from. Records come from that snapshot too, unless the
index has them already (see recent.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from tim.adapters.postings.lists import PostingLists
from tim.adapters.postings.order import OutOfStep
from tim.adapters.postings.recent import RecentRecords
from tim.domain.model.changes import FeedPosition
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import ImageQuery
from tim.domain.model.tags import TagListing, TagRecord
from tim.ports.repository import CatalogView

log = logging.getLogger(__name__)

CATCH_UP_BATCH = 5_000
# Deleted images leave holes in the positions; past this many (and more
# than there are images) a build makes the positions dense again.
MAX_HOLES = 100_000


class PostingIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: PostingLists | None = None
        self._recent = RecentRecords()

    def search(self, view: CatalogView, query: ImageQuery, page: PageRequest) -> Page[ImageRecord]:
        with self._lock:
            lists = self._caught_up(view)
            found = lists.find(query, page)
            seen = lists.position  # where the view's snapshot is
            records = self._recent.known(found.results)
        if None in records:
            fetched = view.images([image_id for image_id, record in zip(found.results, records) if record is None])
            with self._lock:
                if self._lists is not None and self._lists.position == seen:  # nothing changed meanwhile
                    self._recent.keep(fetched)
            by_id = {record.id: record for record in fetched}
            records = [record or by_id[image_id] for image_id, record in zip(found.results, records)]
        return found.with_results(records)

    def forget_records(self) -> None:
        """Drop the records kept for pages shown again: every record of the
        next searches is read from the database (benchmarks/search.py
        measures them so)."""
        with self._lock:
            self._recent.clear()

    def tags(self, view: CatalogView, listing: TagListing, page: PageRequest) -> Page[TagRecord]:
        with self._lock:
            return self._caught_up(view).tags(listing, page)

    def tag_records(self, view: CatalogView, ids: Sequence[int] | None = None) -> list[TagRecord]:
        with self._lock:
            lists = self._caught_up(view)
            wanted = list(lists.dictionary.names) if ids is None else ids
            return [record for record in map(lists.tag_record, wanted) if record is not None]

    def refresh(self, view: CatalogView) -> None:
        with self._lock:
            self._caught_up(view)

    def _caught_up(self, view: CatalogView) -> PostingLists:
        target = view.feed_position()
        lists = self._lists
        if lists is None or lists.position.epoch != target.epoch or lists.position.seq > target.seq:
            return self._build(view, target)
        try:
            while lists.position.seq < target.seq:
                entries = view.changes_after(lists.position.seq, CATCH_UP_BATCH)
                if not entries or entries[0].seq != lists.position.seq + 1:
                    raise OutOfStep("the change feed was trimmed past this index")
                for entry in entries:
                    if entry.seq > target.seq:
                        break
                    lists.apply(entry.seq, entry.change)
                    self._recent.forget(entry.change)
        except OutOfStep as reason:
            log.info("rebuilding the search index: %s", reason)
            return self._build(view, target)
        if lists.order.holes > max(MAX_HOLES, len(lists.order.alive)):
            return self._build(view, target)
        return lists

    def _build(self, view: CatalogView, target: FeedPosition) -> PostingLists:
        self._lists = None  # a failed build leaves nothing half-made behind
        self._recent.clear()
        started = time.perf_counter()
        self._lists = PostingLists.build(view, target)
        log.info(
            "built the search index of %d images and %d tags in %.1f s",
            len(self._lists.order.alive),
            len(self._lists.dictionary),
            time.perf_counter() - started,
        )
        return self._lists
