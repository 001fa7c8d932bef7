"""Limits the use cases enforce, chosen by whoever composes tim."""

from __future__ import annotations

from attrs import frozen, validators, field

from tim.domain.model.images import DEFAULT_MAX_IMAGE_BYTES
from tim.domain.model.tags import DEFAULT_MAX_TAGS_PER_IMAGE

DEFAULT_URL_EXPIRY_SECONDS = 3600


@frozen
class Settings:
    max_image_bytes: int = field(default=DEFAULT_MAX_IMAGE_BYTES, validator=validators.gt(0))
    url_expiry_seconds: int = field(default=DEFAULT_URL_EXPIRY_SECONDS, validator=validators.gt(0))
    # Distinct tags one image may carry, as given in one image input.
    max_tags_per_image: int = field(default=DEFAULT_MAX_TAGS_PER_IMAGE, validator=validators.gt(0))
    # How long a pending record's store check is trusted before asking again.
    pending_check_interval_seconds: int = field(default=5, validator=validators.ge(0))
    # Objects younger than this are never swept as unreferenced: a one-shot
    # upload stores its file a moment before its record.
    orphan_grace_seconds: int = field(default=3600, validator=validators.ge(0))
