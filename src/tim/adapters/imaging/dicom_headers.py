"""The DicomHeaders port with pydicom: only the allowlisted attributes are
read (specific_tags), from the first bytes of a file, never the pixels."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping

import pydicom
from pydicom import config
from pydicom.multival import MultiValue

from tim.domain.model.facts import DICOM_ALLOWLIST

# The character set is read too, to decode the allowlisted text.
READ_TAGS = [*DICOM_ALLOWLIST, "SpecificCharacterSet"]


def quiet_pydicom() -> None:
    """pydicom warns (and logs) about values it finds odd, quoting them: tim
    must not log what a header holds, so those checks are off."""
    config.settings.reading_validation_mode = config.IGNORE
    logging.getLogger("pydicom").setLevel(logging.ERROR)


class PydicomHeaders:
    def __init__(self) -> None:
        quiet_pydicom()

    def read(self, head: bytes) -> Mapping[str, object] | None:
        try:
            dataset = pydicom.dcmread(io.BytesIO(head), stop_before_pixels=True, specific_tags=READ_TAGS)
            found = {name: _plain(dataset[name].value) for name in DICOM_ALLOWLIST if name in dataset}
            # pydicom stops quietly at a header cut short: finding nothing is not parsing.
            return found or None
        except Exception:  # noqa: BLE001 - a file that does not parse has no DICOM facts, whatever the reason
            return None


def _plain(value: object) -> object:
    """A value as str or int (the domain's allowlist checks which it keeps)."""
    if isinstance(value, MultiValue):
        return "\\".join(map(str, value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return None
    return None if value is None else str(value)
