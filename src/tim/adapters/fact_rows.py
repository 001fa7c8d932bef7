"""File facts as SQL repositories keep them: the DICOM attributes as a
JSON object in a text column, read back through the allowlist."""

from __future__ import annotations

import json

from tim.domain.model.facts import DicomAttributes


def dicom_text(dicom: DicomAttributes | None) -> str | None:
    return None if dicom is None else json.dumps(dicom.as_dict(), separators=(",", ":"))


def dicom_from_text(text: str | None) -> DicomAttributes | None:
    return None if text is None else DicomAttributes.allowed(json.loads(text))
