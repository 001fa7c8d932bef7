"""History: who changed what an image carries, and when.

Every change to what an image carries is an event: its creation, its upload
confirmed, tags set, added or removed (by hand, in bulk, or through a tag's
merge, rename or deletion) and its deletion. A repository records the events
of a write in the write's own transaction, so history holds every committed
change and nothing that was rolled back. Unlike the change feed (read by the
search index, and trimmed), history is kept, also after the image is gone.
Events come newest first: by `at`, ties by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import field, frozen, validators

from tim.domain.model.errors import InvalidInput
from tim.domain.model.fields import parse_int
from tim.domain.model.images import ImageRecord, parse_principal
from tim.domain.model.tags import Tag

# Who tim's own sweeps act as.
SYSTEM = "tim"

CREATED = "created"
UPLOADED = "uploaded"
TAGGED = "tagged"
DELETED = "deleted"
TAG_RENAMED = "tag_renamed"
TAGS_MERGED = "tags_merged"
ACTIONS = (CREATED, UPLOADED, TAGGED, DELETED, TAG_RENAMED, TAGS_MERGED)


def _principal(instance: object, attribute: Any, value: object) -> None:
    if parse_principal(value, attribute.name) != value:
        raise InvalidInput.of(attribute.name, "must be a principal's name")


@frozen
class Actor:
    """Who makes a change, and when (seconds since the epoch)."""

    by: str = field(validator=_principal)
    at: int = field(validator=[validators.instance_of(int), validators.ge(0)])


def _tag(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name}


@frozen
class NewEvent:
    """An event about to be recorded; the repository numbers it. The
    constructors say what each kind of change records."""

    at: int
    by: str
    action: str = field(validator=validators.in_(ACTIONS))
    image_id: int | None = None  # None: an event of a tag, not of one image
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(factory=dict)

    @classmethod
    def created(cls, image: ImageRecord) -> NewEvent:
        return cls(image.created_timestamp, image.created_by, CREATED, image.id, tuple(t.name for t in image.tags))

    @classmethod
    def uploaded(cls, image: ImageRecord, at: int) -> NewEvent:
        """The creator's change: whoever PUTs holds the URL issued to them."""
        return cls(at, image.created_by, UPLOADED, image.id)

    @classmethod
    def tagged(
        cls, actor: Actor, image_id: int, added: Iterable[str], removed: Iterable[str], via: str
    ) -> NewEvent:
        """Tags set (`via` "replace"), edited ("edit") or edited in bulk ("bulk")."""
        return cls(actor.at, actor.by, TAGGED, image_id, tuple(added), tuple(removed), {"via": via})

    @classmethod
    def tag_deleted(cls, actor: Actor, tag: Tag, image_id: int | None = None) -> NewEvent:
        return cls(actor.at, actor.by, TAGGED, image_id, (), (tag.name,), {"via": "tag_deleted", "tag": _tag(tag)})

    @classmethod
    def deleted(cls, actor: Actor, image: ImageRecord) -> NewEvent:
        return cls(actor.at, actor.by, DELETED, image.id, (), tuple(t.name for t in image.tags))

    @classmethod
    def tag_renamed(cls, actor: Actor, old: Tag, new_name: str, image_id: int | None = None) -> NewEvent:
        details = {"tag_id": old.id, "from": old.name, "to": new_name}
        return cls(actor.at, actor.by, TAG_RENAMED, image_id, (new_name,), (old.name,), details)

    @classmethod
    def tags_merged(
        cls, actor: Actor, source: Tag, into: Tag, image_id: int | None = None, *, had_into: bool = False
    ) -> NewEvent:
        """For an image: it lost `source` and gained `into`, unless it had it already."""
        added = () if had_into else (into.name,)
        details = {"source": _tag(source), "into": _tag(into)}
        return cls(actor.at, actor.by, TAGS_MERGED, image_id, added, (source.name,), details)

    def for_image(self, image_id: int) -> NewEvent:
        """This tag-wide event as one of its images records it."""
        return NewEvent(self.at, self.by, self.action, image_id, self.added, self.removed, self.details)

    def numbered(self, event_id: int) -> Event:
        return Event(event_id, self.at, self.by, self.action, self.image_id, self.added, self.removed, self.details)


@frozen
class Event:
    id: int
    at: int
    by: str
    action: str
    image_id: int | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(factory=dict)

    @property
    def newest_first_key(self) -> tuple[int, int]:
        return (-self.at, -self.id)

    @property
    def key(self) -> tuple[int, int]:
        """What a cursor after this event carries."""
        return (self.at, self.id)


@frozen
class HistoryQuery:
    """Which events a history list shows: since a time (inclusive), by a
    principal, of an image; None: any."""

    since: int | None = None
    by: str | None = None
    image_id: int | None = None

    @classmethod
    def parse(cls, since: object = None, by: object = None, image_id: object = None) -> HistoryQuery:
        return cls(
            since=None if since is None else parse_int("since", since, minimum=0),
            by=None if by is None or by == "" else parse_principal(by, "by"),
            image_id=None if image_id is None else parse_int("image_id", image_id, minimum=1),
        )

    @property
    def scope(self) -> str:
        """What a cursor into this list is bound to."""
        return f"history {self!r}"

    def matches(self, event: Event) -> bool:
        return (
            (self.since is None or event.at >= self.since)
            and (self.by is None or event.by == self.by)
            and (self.image_id is None or event.image_id == self.image_id)
        )

    def select(
        self, events: Iterable[Event], after: Sequence[int] | None = None, limit: int | None = None
    ) -> list[Event]:
        """The matching events newest first, those after the key `after`
        (at, id) only: the reference every repository is held to."""
        found = sorted(filter(self.matches, events), key=lambda event: event.newest_first_key)
        if after is not None:
            found = [event for event in found if event.key < tuple(after)]
        return found if limit is None else found[:limit]
