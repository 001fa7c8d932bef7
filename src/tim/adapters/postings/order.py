"""Positions: the newest-first order of images as small integers.

Every image has a position, and ascending positions are ascending
(created_timestamp, id), so newest first is simply descending position and
a page is a slice of a bitmap of positions. Two arrays give each position's
created_timestamp and id. Positions of deleted images stay as holes (they
keep their key, so the arrays stay sorted) until the next build.

Positions are the image ids themselves when the catalogue's ids already
follow its creation times (the usual case: ids and clocks both grow), which
makes a build a matter of copying ids. Otherwise they are ranks. An image
that arrives out of order later (two writers crossing a second, clocks
that disagree) takes a hole next to its place when there is one, or moves
the positions after it up by one.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from pyroaring import BitMap

# Roaring bitmaps hold 32-bit integers.
MAX_POSITION = 2**32 - 1


Positions = Callable[[Sequence[int]], Sequence[int]]


def _same(image_ids: Sequence[int]) -> Sequence[int]:
    return image_ids


def bitmap_of(positions: Sequence[int]) -> BitMap:
    """A bitmap of positions from any sequence (pyroaring takes arrays of
    32-bit integers at C speed, other sequences one by one)."""
    return BitMap(positions if getattr(positions, "typecode", None) == "I" else array("I", positions))


class OutOfStep(Exception):
    """A change names an image that is not where the index expects it: the
    index must be rebuilt from the tables."""


class Order:
    def __init__(self, created: array, ids: array, alive: BitMap):
        self.created = created  # created_timestamp by position, ascending
        self.ids = ids  # image id by position (ascending where created is equal)
        self.alive = alive  # positions that hold an image

    @classmethod
    def build(cls, ids: Sequence[int], created: Sequence[int]) -> tuple[Order, Positions]:
        """The order of the images given in (created_timestamp, id) order,
        and what turns image ids into their positions."""
        count = len(ids)
        last = ids[-1] if count else 0
        in_time = list(created) == sorted(created)
        follows_time = in_time and list(ids) == sorted(ids)  # ids are unique: sorted means ascending
        if follows_time and last <= min(2 * count + 1024, MAX_POSITION):
            return cls._by_id(ids, created), _same
        if count > MAX_POSITION:
            raise OutOfStep("more images than a 32-bit index can order")
        keys = list(zip(created, ids))
        if not (in_time and all(a < b for a, b in zip(keys, keys[1:]))):
            keys.sort()  # not given in order after all
            created, ids = [c for c, _ in keys], [i for _, i in keys]
        largest = max(ids, default=0)
        if largest <= 16 * count:
            rank = array("I", bytes(4 * (largest + 1)))
            for position, image_id in enumerate(ids):
                rank[image_id] = position
        else:
            rank = {image_id: position for position, image_id in enumerate(ids)}  # type: ignore[assignment]
        ranked = cls(array("q", created), array("q", ids), BitMap(range(count)))
        return ranked, lambda image_ids: [rank[image_id] for image_id in image_ids]

    @classmethod
    def _by_id(cls, ids: Sequence[int], created: Sequence[int]) -> Order:
        """Positions that are the ids: the images' timestamps, with a hole
        for each id that is not there (position 0 is one), taking the
        timestamp before it, which keeps the keys sorted."""
        alive = bitmap_of(ids)
        size = (ids[-1] + 1) if len(ids) else 0
        by_position = array("q")
        taken = 0  # how many of `created` are in by_position
        for hole in BitMap(range(size)) - alive:
            gap = hole - len(by_position)
            by_position.extend(created[taken : taken + gap])
            taken += gap
            by_position.append(by_position[-1] if by_position else 0)
        by_position.extend(created[taken:])
        return cls(by_position, array("q", range(size)), alive)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def holes(self) -> int:
        return len(self.ids) - len(self.alive)

    def find(self, image_id: int, created: int) -> int:
        """The position of a live image."""
        position = self.place(image_id, created)
        if position == len(self.ids) or self.ids[position] != image_id or position not in self.alive:
            raise OutOfStep(f"image {image_id} is not in the index")
        return position

    def insert(self, image_id: int, created: int) -> tuple[int, int | None]:
        """A position for a new image, and the first position that moved up
        by one to make room for it (None when nothing moved)."""
        position = self.place(image_id, created)
        size = len(self.ids)
        if position < size and self.ids[position] == image_id and position in self.alive:
            raise OutOfStep(f"image {image_id} is in the index already")
        if position == size:
            self._check_room()
            self.created.append(created)
            self.ids.append(image_id)
            return position, None
        # The key (created, id) sits between those of position - 1 and
        # position: a hole on either side can take it.
        for hole in (position - 1, position):
            if 0 <= hole < size and hole not in self.alive and self._fits(hole, image_id, created):
                self.created[hole], self.ids[hole] = created, image_id
                return hole, None
        self._check_room()
        self.created.insert(position, created)
        self.ids.insert(position, image_id)
        return position, position

    def time_span(self, start: int | None, end: int | None) -> range:
        """The positions of images created in [start, end] (both inclusive, None: open)."""
        low = 0 if start is None else bisect_left(self.created, start)
        high = len(self.created) if end is None else bisect_right(self.created, end)
        return range(low, max(low, high))

    def image_ids(self, positions: Sequence[int]) -> list[int]:
        ids = self.ids
        return [ids[position] for position in positions]

    def place(self, image_id: int, created: int) -> int:
        """Where the key (created, image_id) is, or would be inserted: the
        positions below it hold the older keys."""
        low = bisect_left(self.created, created)
        high = bisect_right(self.created, created, low)
        return bisect_left(self.ids, image_id, low, high)

    def _fits(self, position: int, image_id: int, created: int) -> bool:
        key = (created, image_id)
        before = position == 0 or (self.created[position - 1], self.ids[position - 1]) < key
        after = position + 1 == len(self.ids) or key < (self.created[position + 1], self.ids[position + 1])
        return before and after

    def _check_room(self) -> None:
        if len(self.ids) > MAX_POSITION:
            raise OutOfStep("the index has run out of positions")


def shift_from(bitmap: BitMap, start: int) -> None:
    """Move every position >= start up by one, in place."""
    if bitmap and bitmap.max() >= start:
        tail = bitmap & BitMap(range(start, bitmap.max() + 1))
        bitmap.difference_update(tail)
        bitmap.update(tail.shift(1))
