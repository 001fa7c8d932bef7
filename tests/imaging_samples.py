"""Image files for the tests: real DICOM files from pydicom's wheel, and
files written here with pydicom and Pillow (MONOCHROME1, a multi-frame
with distinct frames, a transfer syntax no installed decoder reads, one
carrying patient identifiers), PNG, JPEG, and files that only look like
images. Everything is made on the spot: nothing outside the repository."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, UID

# Identifiers that must never appear anywhere tim keeps or logs.
PATIENT_NAME = "Zzyzx^Quillfeather"
PATIENT_ID = "PID-7f3a9c51"
PATIENT_BIRTH_DATE = "19430217"
SECRETS = (PATIENT_NAME, PATIENT_ID, PATIENT_BIRTH_DATE, "Zzyzx", "Quillfeather")
MPEG2 = "1.2.840.10008.1.2.4.100"


def bundled(name: str) -> bytes:
    found = get_testdata_file(name, download=False)  # None unless the wheel ships it
    assert found is not None, f"pydicom no longer ships {name}"
    return Path(found).read_bytes()


def _written(dataset: pydicom.Dataset) -> bytes:
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ct() -> bytes:
    return bundled("CT_small.dcm")


def mr() -> bytes:
    return bundled("MR_small.dcm")


def jpeg2000_dicom() -> bytes:
    """A compressed transfer syntax that the installed decoders read."""
    return bundled("MR_small_jp2klossless.dcm")


def identified_ct() -> bytes:
    """CT_small carrying made-up patient identifiers, and a body part."""
    dataset = pydicom.dcmread(io.BytesIO(ct()))
    dataset.PatientName = PATIENT_NAME
    dataset.PatientID = PATIENT_ID
    dataset.PatientBirthDate = PATIENT_BIRTH_DATE
    dataset.BodyPartExamined = "CHEST"
    return _written(dataset)


def monochrome1() -> bytes:
    """CT_small's pixels as MONOCHROME1: low values shown bright."""
    dataset = pydicom.dcmread(io.BytesIO(ct()))
    dataset.PhotometricInterpretation = "MONOCHROME1"
    return _written(dataset)


def multi_frame(frames: int = 5, rows: int = 40, columns: int = 30) -> bytes:
    """A multi-frame MR whose frames are each one constant value, 1000 * index
    (the middle one is told apart from the others), with a gradient in the
    middle frame so that it is not blank."""
    dataset = pydicom.dcmread(io.BytesIO(mr()))
    pixels = np.zeros((frames, rows, columns), dtype=np.uint16)
    for index in range(frames):
        pixels[index] = 1000 * index
    pixels[frames // 2] += np.arange(columns, dtype=np.uint16)[None, :] * 10
    dataset.NumberOfFrames = frames
    dataset.Rows, dataset.Columns = rows, columns
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelRepresentation = 0
    for name in ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept"):
        if name in dataset:
            delattr(dataset, name)
    dataset.PixelData = pixels.tobytes()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return _written(dataset)


def undecodable() -> bytes:
    """A DICOM file whose pixel data claims MPEG-2: no installed decoder reads it."""
    dataset = pydicom.dcmread(io.BytesIO(ct()))
    dataset.file_meta.TransferSyntaxUID = UID(MPEG2)
    dataset.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    dataset["PixelData"].is_undefined_length = True
    dataset["PixelData"].VR = "OB"
    return _written(dataset)


def truncated_dicom() -> bytes:
    """The DICM preamble and the start of a header, cut off mid-element."""
    return ct()[:400]


def text_named_dcm() -> bytes:
    return b"This is not a DICOM file, whatever its name says.\n" * 3


def png(width: int = 300, height: int = 200) -> bytes:
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 640, height: int = 480) -> bytes:
    picture = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


# What each renderable sample previews as: (bytes, the size of its picture).
RENDERABLE = {
    "ct": (ct, (128, 128)),
    "mr": (mr, (64, 64)),
    "jpeg2000": (jpeg2000_dicom, (64, 64)),
    "monochrome1": (monochrome1, (128, 128)),
    "multi_frame": (multi_frame, (30, 40)),
    "png": (png, (300, 200)),
    "jpeg": (jpeg, (640, 480)),
}


def fitted(size: tuple[int, int], box: int) -> tuple[int, int]:
    """The size of a picture of `size` scaled down (never up) to fit box x box."""
    width, height = size
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))
