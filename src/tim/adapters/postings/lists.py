"""The posting lists: for each tag, creator and flag, the bitmap of the
positions of its images; and how a query becomes one bitmap.

Totals are the bitmap's cardinality (exact, whatever the page); a page is a
slice of it, so any page costs the same however deep, and so does the page
after a cursor's key (the key's position is found by bisection, and the
matches below it counted by rank). Every bitmap holds live positions only,
so a complement is taken against `order.alive`. A tag's image count is the
cardinality of its bitmap.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence

from pyroaring import BitMap

from tim.adapters.postings.dictionary import TagDictionary
from tim.adapters.postings.order import Order, OutOfStep, bitmap_of, shift_from
from tim.domain.model.changes import (
    AliasRemoved,
    Change,
    FeedPosition,
    ImageAdded,
    ImageDeleted,
    ImageRetagged,
    ImageUploaded,
    TagAdded,
    TagDeleted,
    TagRenamed,
    TagsMerged,
)
from tim.domain.model.paging import Page, PageRequest
from tim.domain.model.search import (
    AllOf,
    AnyOf,
    Condition,
    CreatedBy,
    CreatedIn,
    HasTag,
    HasTagId,
    HasTagMatching,
    ImageQuery,
    Not,
    Untagged,
    Uploaded,
)
from tim.domain.model.tags import Tag, TagListing, TagRecord
from tim.ports.repository import CatalogView

EMPTY = BitMap()


class PostingLists:
    """The index of one catalogue as of `position` in its change feed."""

    def __init__(self, position: FeedPosition, order: Order, dictionary: TagDictionary):
        self.position = position
        self.order = order
        self.dictionary = dictionary
        self.uploaded = BitMap()
        self.untagged = BitMap()
        self.by_creator: dict[str, BitMap] = {}
        self.by_tag: dict[int, BitMap] = {}

    @classmethod
    def build(cls, view: CatalogView, position: FeedPosition) -> PostingLists:
        """From the tables, as the view shows them at `position`."""
        ids, created = view.image_keys()
        order, positions = Order.build(ids, created)
        lists = cls(position, order, TagDictionary(((tag.id, tag.name) for tag in view.tags()), view.aliases()))
        lists.uploaded = bitmap_of(positions(view.uploaded_image_ids()))
        lists.by_creator = {name: bitmap_of(positions(found)) for name, found in view.image_ids_by_creator()}
        lists.by_tag = {tag_id: bitmap_of(positions(found)) for tag_id, found in view.image_ids_by_tag()}
        lists.untagged = order.alive - BitMap.union(*lists.by_tag.values()) if lists.by_tag else order.alive.copy()
        return lists

    # Following the feed

    def apply(self, seq: int, change: Change) -> None:
        """Raises OutOfStep if the change does not fit what is indexed."""
        if isinstance(change, ImageAdded):
            self._add_image(change)
        elif isinstance(change, ImageUploaded):
            self.uploaded.add(self.order.find(change.image_id, change.created_timestamp))
        elif isinstance(change, ImageRetagged):
            self._retag(change)
        elif isinstance(change, ImageDeleted):
            self._delete_image(change)
        elif isinstance(change, (TagAdded, TagRenamed)):
            self.dictionary.add(change.tag_id, change.name)
        elif isinstance(change, TagDeleted):
            self._delete_tag(change.tag_id)
        elif isinstance(change, TagsMerged):
            self._merge_tags(change)
        elif isinstance(change, AliasRemoved):
            self.dictionary.remove_alias(change.name)
        self.position = FeedPosition(self.position.epoch, seq)

    def _add_image(self, change: ImageAdded) -> None:
        position, moved_from = self.order.insert(change.image_id, change.created_timestamp)
        if moved_from is not None:
            for bitmap in self._bitmaps():
                shift_from(bitmap, moved_from)
        self.order.alive.add(position)
        if change.uploaded:
            self.uploaded.add(position)
        self.by_creator.setdefault(change.created_by, BitMap()).add(position)
        for tag_id in change.tag_ids:
            self.by_tag.setdefault(tag_id, BitMap()).add(position)
        if not change.tag_ids:
            self.untagged.add(position)

    def _retag(self, change: ImageRetagged) -> None:
        position = self.order.find(change.image_id, change.created_timestamp)
        for tag_id in change.removed:
            self._remove_from_tag(tag_id, position)
        for tag_id in change.added:
            self.by_tag.setdefault(tag_id, BitMap()).add(position)
        if change.untagged:
            self.untagged.add(position)
        else:
            self.untagged.discard(position)

    def _delete_image(self, change: ImageDeleted) -> None:
        position = self.order.find(change.image_id, change.created_timestamp)
        self.order.alive.discard(position)
        self.uploaded.discard(position)
        self.untagged.discard(position)
        creator = self.by_creator.get(change.created_by)
        if creator is not None:
            creator.discard(position)
            if not creator:
                del self.by_creator[change.created_by]
        for tag_id in change.tag_ids:
            self._remove_from_tag(tag_id, position)

    def _merge_tags(self, change: TagsMerged) -> None:
        images = self.by_tag.pop(change.source, None)
        if images:
            self.by_tag.setdefault(change.into, BitMap()).update(images)
        self.dictionary.merge(change.source, change.into, change.name)

    def _delete_tag(self, tag_id: int) -> None:
        self.dictionary.delete(tag_id)
        images = self.by_tag.pop(tag_id, None)
        if not images:
            return
        # Those of its images that carry no other tag are untagged now.
        left = images.copy()
        for other in self.by_tag.values():
            if left.intersect(other):
                left.difference_update(other)
                if not left:
                    return
        self.untagged.update(left)

    def _remove_from_tag(self, tag_id: int, position: int) -> None:
        images = self.by_tag.get(tag_id)
        if images is not None:
            images.discard(position)
            if not images:
                del self.by_tag[tag_id]

    def _bitmaps(self) -> Iterator[BitMap]:
        yield self.order.alive
        yield self.uploaded
        yield self.untagged
        yield from self.by_creator.values()
        yield from self.by_tag.values()

    # Answering

    def find(self, query: ImageQuery, page: PageRequest) -> Page[int]:
        """The ids on the page, newest first, and the exact total; exact
        tag names mean what the aliases make them mean."""
        found = self.select(query.resolved(self.dictionary.meaning).where)
        total = len(found)
        if page.after is not None:
            created, image_id = page.after
            # The matches older than the key are those at positions below its place.
            below = self.order.place(image_id, created)
            stop = found.rank(below - 1) if below else 0
            positions = found[max(0, stop - page.limit) : stop]
            ids = self.order.image_ids(positions.to_array()[::-1])
            return Page.following(ids, total=total, earlier=total - stop, request=page)
        ranks = page.window(total)
        # Newest first is descending position: rank r is ascending index total - 1 - r.
        positions = found[total - ranks.stop : total - ranks.start] if ranks else EMPTY
        return Page.of(self.order.image_ids(positions.to_array()[::-1]), total=total, request=page)

    def tag_record(self, tag_id: int) -> TagRecord | None:
        name = self.dictionary.names.get(tag_id)
        if name is None:
            return None
        return TagRecord(Tag(tag_id, name), len(self.by_tag.get(tag_id, EMPTY)), self.dictionary.aliases_of(tag_id))

    def tags(self, listing: TagListing, page: PageRequest) -> Page[TagRecord]:
        """A page of the tags the listing shows: alphabetical is the
        dictionary's order; with a prefix, its tags are in that order
        already, so a stable sort by count leaves ties alphabetical."""
        folded = listing.folded_prefix
        entries = self.dictionary.ordered() if folded is None else self.dictionary.starting_with(folded)
        ranks = page.window(len(entries))
        if folded is None:
            chosen = [tag_id for _, _, tag_id in entries[ranks.start : ranks.stop]]
        else:
            # (-count, place in the dictionary's order): the smallest are the page's, ties alphabetical.
            by_tag = self.by_tag
            ranked = zip([-len(by_tag.get(tag_id, EMPTY)) for _, _, tag_id in entries], range(len(entries)))
            chosen = [entries[place][2] for _, place in heapq.nsmallest(ranks.stop, ranked)[ranks.start :]]
        records = [self.tag_record(tag_id) for tag_id in chosen]
        return Page.of(records, total=len(entries), request=page)

    def select(self, condition: Condition) -> BitMap:
        """The positions of the images meeting `condition` (never to be changed)."""
        if isinstance(condition, AllOf):
            return self._all(condition.conditions)
        if isinstance(condition, AnyOf):
            return BitMap.union(*map(self.select, condition.conditions))
        if isinstance(condition, Not):
            return self.order.alive - self.select(condition.condition)
        if isinstance(condition, HasTag):
            tag_id = self.dictionary.ids.get(condition.name)
            return EMPTY if tag_id is None else self.by_tag.get(tag_id, EMPTY)
        if isinstance(condition, HasTagId):
            return self.by_tag.get(condition.tag_id, EMPTY)
        if isinstance(condition, HasTagMatching):
            return self._union(self.by_tag.get(tag_id, EMPTY) for tag_id in self.dictionary.matching(condition.pattern))
        if isinstance(condition, Untagged):
            return self.untagged
        if isinstance(condition, Uploaded):
            return self.uploaded
        if isinstance(condition, CreatedBy):
            return self.by_creator.get(condition.principal, EMPTY)
        if isinstance(condition, CreatedIn):
            span = self.order.time_span(condition.time_range.start, condition.time_range.end)
            return self.order.alive & BitMap(span)
        raise TypeError(f"not a condition: {condition!r}")

    def _all(self, conditions: Sequence[Condition]) -> BitMap:
        """Intersect the positive conditions, smallest first, then take away
        what the negated ones select (cheaper than complementing them)."""
        wanted = [self.select(c) for c in conditions if not isinstance(c, Not)]
        unwanted = [self.select(c.condition) for c in conditions if isinstance(c, Not)]
        if not wanted:
            found = self.order.alive
        elif len(wanted) == 1:
            found = wanted[0]
        else:
            found = BitMap.intersection(*sorted(wanted, key=len))
        if unwanted:
            found = found - self._union(unwanted)
        return found

    @staticmethod
    def _union(bitmaps: Iterable[BitMap]) -> BitMap:
        present = [bitmap for bitmap in bitmaps if bitmap]
        return BitMap.union(*present) if present else EMPTY
