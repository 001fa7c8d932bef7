"""What a match pattern means: `%` is the only wildcard.

A pattern matches a tag name case-insensitively: both are compared after
Unicode case folding. `%` matches any run of characters (including none);
every other character, `_` and `\\` included, stands for itself.
"""

from __future__ import annotations

from attrs import field, frozen

from tim.domain.model.tags import valid_tag_name

WILDCARD = "%"


@frozen
class TagPattern:
    text: str = field(validator=valid_tag_name)
    # The case-folded pieces between wildcards: one piece means no wildcard.
    segments: tuple[str, ...] = field(init=False, eq=False, repr=False)

    @segments.default
    def _split(self) -> tuple[str, ...]:
        return tuple(self.text.casefold().split(WILDCARD))

    @property
    def is_literal(self) -> bool:
        return len(self.segments) == 1

    @property
    def prefix(self) -> str:
        """What every matching folded name starts with."""
        return self.segments[0]

    @property
    def longest_piece(self) -> str:
        """The longest literal piece: every matching folded name contains it."""
        return max(self.segments, key=len)

    def matches(self, name: str) -> bool:
        return self.matches_folded(name.casefold())

    def matches_folded(self, folded: str) -> bool:
        """`matches` for a name that is case-folded already."""
        if self.is_literal:
            return folded == self.segments[0]
        first, *middle, last = self.segments
        if len(folded) < len(first) + len(last) or not folded.startswith(first) or not folded.endswith(last):
            return False
        # Leftmost placement of each middle piece is optimal: it leaves the
        # most room for the rest, so no backtracking is ever needed.
        position, end = len(first), len(folded) - len(last)
        for piece in middle:
            found = folded.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True
