"""Image rows as SQL repositories write them, and file facts as they keep
them: the DICOM attributes as a JSON object in a text column, read back
through the allowlist."""

from __future__ import annotations

import json

from tim.domain.model.facts import DicomAttributes
from tim.domain.model.images import NewImage

# The columns new_image_row fills, in its order.
NEW_IMAGE_COLUMNS = "filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp, sha256, content_type, dicom"


def new_image_row(image: NewImage) -> tuple:
    return (
        image.filename,
        image.size,
        image.created_by,
        image.created_timestamp,
        image.blob_key,
        image.uploaded_timestamp,
        image.sha256,
        image.content_type,
        dicom_text(image.dicom),
    )


def dicom_text(dicom: DicomAttributes | None) -> str | None:
    return None if dicom is None else json.dumps(dicom.as_dict(), separators=(",", ":"))


def dicom_from_text(text: str | None) -> DicomAttributes | None:
    return None if text is None else DicomAttributes.allowed(json.loads(text))
