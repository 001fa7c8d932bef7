"""The tag dictionary: tag names by id, and the tags a pattern matches.

Which names a pattern matches is the domain's rule (TagPattern); this only
narrows the candidates before asking it, so that a pattern costs far less
than a look at every name: by the pattern's literal prefix in the sorted
folded names, or else by its longest literal piece found in one string of
all folded names.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from tim.domain.model.patterns import TagPattern

# Tag names hold no control characters, so this cannot occur inside one.
SEPARATOR = "\n"


class TagDictionary:
    def __init__(self, tags: Iterable[tuple[int, str]] = ()):
        self.names: dict[int, str] = {}
        self.ids: dict[str, int] = {}
        self._sorted: list[tuple[str, int]] = []  # (folded name, id), sorted
        self._joined: str | None = None  # every folded name, SEPARATOR before each
        self._starts: list[int] = []  # where each of _sorted begins in _joined
        for tag_id, name in tags:
            self.names[tag_id] = name
            self.ids[name] = tag_id
        self._sorted = sorted((name.casefold(), tag_id) for tag_id, name in self.names.items())

    def __len__(self) -> int:
        return len(self.names)

    def add(self, tag_id: int, name: str) -> None:
        self.remove(tag_id)
        self.names[tag_id] = name
        self.ids[name] = tag_id
        insort(self._sorted, (name.casefold(), tag_id))
        self._joined = None

    def remove(self, tag_id: int) -> None:
        name = self.names.pop(tag_id, None)
        if name is None:
            return
        if self.ids.get(name) == tag_id:
            del self.ids[name]
        entry = (name.casefold(), tag_id)
        at = bisect_left(self._sorted, entry)
        if at < len(self._sorted) and self._sorted[at] == entry:
            del self._sorted[at]
        self._joined = None

    def matching(self, pattern: TagPattern) -> list[int]:
        """The ids of the tags whose names match `pattern`."""
        if pattern.prefix:
            candidates = self._starting_with(pattern.prefix)
        else:
            candidates = self._containing(pattern.longest_piece)
        return [tag_id for folded, tag_id in candidates if pattern.matches_folded(folded)]

    def _starting_with(self, prefix: str) -> list[tuple[str, int]]:
        low = bisect_left(self._sorted, (prefix,))
        high = low
        while high < len(self._sorted) and self._sorted[high][0].startswith(prefix):
            high += 1
        return self._sorted[low:high]

    def _containing(self, piece: str) -> list[tuple[str, int]]:
        if not piece:
            return self._sorted
        if self._joined is None:
            self._starts, text = [], []
            length = 0
            for folded, _ in self._sorted:
                self._starts.append(length)
                text.append(SEPARATOR + folded)
                length += len(folded) + 1
            self._joined = "".join(text)
        found, at = [], self._joined.find(piece)
        while at >= 0:
            index = bisect_left(self._starts, at + 1) - 1  # the name holding offset `at`
            found.append(self._sorted[index])
            # Go on after this name: one hit per name is enough.
            at = self._joined.find(piece, self._starts[index + 1] if index + 1 < len(self._starts) else len(self._joined))
        return found
