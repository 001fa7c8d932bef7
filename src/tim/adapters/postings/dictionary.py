"""The tag dictionary: tag names by id, in the tag list's order, the
aliases that resolve to each tag, and the tags a pattern matches.

Which names a pattern matches is the domain's rule (TagPattern); this only
narrows the candidates before asking it, so that a pattern costs far less
than a look at every name: by the pattern's literal prefix in the sorted
folded names, or else by its longest literal piece found in one string of
all folded names. The same sorted names give the tag list's pages and the
tags starting with a prefix (autocomplete) without a sort.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from tim.domain.model.patterns import TagPattern
from tim.domain.model.tags import sorted_names

# Tag names hold no control characters, so this cannot occur inside one.
SEPARATOR = "\n"

Entry = tuple[str, str, int]  # (folded name, name, id): sorted, the tag list's order


class TagDictionary:
    def __init__(self, tags: Iterable[tuple[int, str]] = (), aliases: Iterable[tuple[str, int]] = ()):
        self.names: dict[int, str] = {}
        self.ids: dict[str, int] = {}
        self.aliases: dict[str, int] = {}  # alias -> the id of its tag
        self._aliases_of: dict[int, set[str]] = {}
        self._joined: str | None = None  # every folded name, SEPARATOR before each
        self._starts: list[int] = []  # where each of _sorted begins in _joined
        for tag_id, name in tags:
            self.names[tag_id] = name
            self.ids[name] = tag_id
        self._sorted: list[Entry] = sorted((name.casefold(), name, tag_id) for tag_id, name in self.names.items())
        for alias, tag_id in aliases:
            self.add_alias(alias, tag_id)

    def __len__(self) -> int:
        return len(self.names)

    def add(self, tag_id: int, name: str) -> None:
        """A new tag, or a new name for one (its aliases stay)."""
        self.remove(tag_id)
        self.names[tag_id] = name
        self.ids[name] = tag_id
        insort(self._sorted, (name.casefold(), name, tag_id))
        self._joined = None

    def remove(self, tag_id: int) -> None:
        name = self.names.pop(tag_id, None)
        if name is None:
            return
        if self.ids.get(name) == tag_id:
            del self.ids[name]
        entry = (name.casefold(), name, tag_id)
        at = bisect_left(self._sorted, entry)
        if at < len(self._sorted) and self._sorted[at] == entry:
            del self._sorted[at]
        self._joined = None

    def delete(self, tag_id: int) -> None:
        """A tag deleted: its aliases go with it."""
        self.remove(tag_id)
        for alias in self._aliases_of.pop(tag_id, ()):
            del self.aliases[alias]

    def merge(self, source: int, into: int, name: str) -> None:
        """Tag `source` (named `name`) merged into `into`: its name and its
        aliases resolve to `into`."""
        self.remove(source)
        moved = self._aliases_of.pop(source, set()) | {name}
        for alias in moved:
            self.aliases[alias] = into
        self._aliases_of.setdefault(into, set()).update(moved)

    def add_alias(self, alias: str, tag_id: int) -> None:
        self.remove_alias(alias)
        self.aliases[alias] = tag_id
        self._aliases_of.setdefault(tag_id, set()).add(alias)

    def remove_alias(self, alias: str) -> None:
        tag_id = self.aliases.pop(alias, None)
        if tag_id is not None:
            names = self._aliases_of[tag_id]
            names.discard(alias)
            if not names:
                del self._aliases_of[tag_id]

    def aliases_of(self, tag_id: int) -> tuple[str, ...]:
        return sorted_names(self._aliases_of.get(tag_id, ()))

    def meaning(self, name: str) -> str:
        """The name of the tag a name means: an alias means its tag."""
        tag_id = self.aliases.get(name)
        return name if tag_id is None else self.names.get(tag_id, name)

    def ordered(self) -> list[Entry]:
        """Every tag in the tag list's order (not to be changed)."""
        return self._sorted

    def starting_with(self, prefix: str) -> list[Entry]:
        """The tags whose folded name starts with `prefix` (folded), in order."""
        if not prefix:
            return self._sorted
        low = bisect_left(self._sorted, (prefix,))
        high = low
        while high < len(self._sorted) and self._sorted[high][0].startswith(prefix):
            high += 1
        return self._sorted[low:high]

    def matching(self, pattern: TagPattern) -> list[int]:
        """The ids of the tags whose names match `pattern`."""
        if pattern.prefix:
            candidates = self.starting_with(pattern.prefix)
        else:
            candidates = self._containing(pattern.longest_piece)
        return [tag_id for folded, _, tag_id in candidates if pattern.matches_folded(folded)]

    def _containing(self, piece: str) -> list[Entry]:
        if not piece:
            return self._sorted
        if self._joined is None:
            self._starts, text = [], []
            length = 0
            for folded, _, _ in self._sorted:
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
