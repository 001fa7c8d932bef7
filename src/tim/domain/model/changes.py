"""The change feed: what happened to the catalogue, in commit order.

Every write a repository commits records its changes in the same
transaction, numbered by a sequence without gaps. Whatever is derived from
the catalogue (the search index) follows the feed: it applies the changes
after the last one it has seen, and rebuilds from the tables when it cannot
(a feed trimmed past it, or a new epoch). A change names what a follower
needs without looking anything up: an image is found by (created, id).
"""

from __future__ import annotations

import secrets
from typing import Union

from attrs import frozen


@frozen
class FeedPosition:
    """Where a feed stands. The epoch changes when the catalogue's rows may
    have changed outside the feed (a reindex): every follower then rebuilds."""

    epoch: str
    seq: int

    @staticmethod
    def new_epoch() -> str:
        return secrets.token_hex(8)


@frozen
class ImageAdded:
    image_id: int
    created_timestamp: int
    created_by: str
    uploaded: bool
    tag_ids: tuple[int, ...]


@frozen
class ImageUploaded:
    image_id: int
    created_timestamp: int


@frozen
class ImageRetagged:
    image_id: int
    created_timestamp: int
    added: tuple[int, ...]
    removed: tuple[int, ...]
    # Whether the image carries no tag at all afterwards.
    untagged: bool


@frozen
class ImageDeleted:
    image_id: int
    created_timestamp: int
    created_by: str
    tag_ids: tuple[int, ...]


@frozen
class TagAdded:
    tag_id: int
    name: str


@frozen
class TagRenamed:
    tag_id: int
    name: str


@frozen
class TagDeleted:
    """The tag is gone, and with it its links to images and its aliases."""

    tag_id: int


@frozen
class TagsMerged:
    """Every image of tag `source` carries tag `into` instead; `source` is
    gone as a tag, and its name (`name`) and its aliases are aliases of `into`."""

    source: int
    into: int
    name: str


@frozen
class AliasRemoved:
    """The alias `name` resolves to no tag any more."""

    name: str


Change = Union[
    ImageAdded, ImageUploaded, ImageRetagged, ImageDeleted, TagAdded, TagRenamed, TagDeleted, TagsMerged, AliasRemoved
]
CHANGE_TYPES: tuple[type, ...] = (
    ImageAdded,
    ImageUploaded,
    ImageRetagged,
    ImageDeleted,
    TagAdded,
    TagRenamed,
    TagDeleted,
    TagsMerged,
    AliasRemoved,
)


@frozen
class FeedEntry:
    seq: int
    change: Change
