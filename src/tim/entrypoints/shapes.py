"""Image records in the v1 API's JSON shape, for every entrypoint that shows
them: HTTP responses, and the records `tim import` and `tim export` read
and write."""

from __future__ import annotations

from typing import Any

from tim.domain.model.images import ImageRecord


def image_json(image: ImageRecord) -> dict[str, Any]:
    return {
        "id": image.id,
        "created_by": image.created_by,
        "created_timestamp": image.created_timestamp,
        "filename": image.filename,
        "size": image.size,
        "tags": [{"id": tag.id, "name": tag.name} for tag in image.tags],
        "uploaded_timestamp": image.uploaded_timestamp,
        "url": image.url,
        "sha256": image.stored_sha256,
        "content_type": image.content_type,
        "dicom": None if image.dicom is None else image.dicom.as_dict(),
    }
