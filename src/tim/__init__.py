"""tim, the Tagged Image Manager.

    import tim
    images = tim.open()                       # in memory
    images = tim.open("sqlite:///tim.db", "file:///srv/tim-files")

`tim.open` returns a `tim.domain.use_cases.manager.ImageManager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tim.domain.use_cases.manager import ImageManager


def open(database: str = "memory:", blobs: str = "memory:", **options: Any) -> ImageManager:  # noqa: A001
    """A ready ImageManager on the given database and blob store URLs.

    Options are those of `tim.entrypoints.bootstrap.Config`: public_url,
    secret, url_expiry_seconds, max_image_bytes, max_tags_per_image. Close
    it when done.
    """
    from tim.entrypoints.bootstrap import Config, build_manager

    return build_manager(Config(database_url=database, blobstore_url=blobs, **options))
