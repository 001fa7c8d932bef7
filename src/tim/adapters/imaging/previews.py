"""The Previews port with pydicom, numpy and Pillow.

The file's bytes are spooled to a temporary file (in memory while small),
a chunk at a time; from there pydicom reads one frame and Pillow decodes
the picture. The frame is thinned to about twice the preview's size before
any arithmetic, so a large file is held once, as its bytes on disk, and
its pixels at most once.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from typing import IO

import numpy as np
import pydicom
from PIL import Image, UnidentifiedImageError
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder, pixel_array

from tim.adapters.imaging.dicom_headers import quiet_pydicom
from tim.domain.model.errors import UnsupportedMediaType
from tim.domain.model.facts import DICOM

# Files up to this size are spooled in memory, larger ones to disk.
SPOOLED_IN_MEMORY = 8 * 1024 * 1024
MONOCHROME = ("MONOCHROME1", "MONOCHROME2")


class PillowPreviews:
    def __init__(self) -> None:
        quiet_pydicom()

    def render(self, chunks: Iterable[bytes], content_type: str, size: int) -> bytes:
        with tempfile.SpooledTemporaryFile(max_size=SPOOLED_IN_MEMORY) as spooled:
            for chunk in chunks:
                spooled.write(chunk)
            spooled.seek(0)
            picture = _dicom(spooled, size) if content_type == DICOM else _picture(spooled, size)
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, "PNG")
        return out.getvalue()


def _picture(file: IO[bytes], size: int) -> Image.Image:
    try:
        with Image.open(file) as opened:
            opened.draft("RGB", (size, size))  # JPEG: decoded at a reduced scale, only as large as needed
            if opened.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                return _eight_bit(np.asarray(opened), inverted=False)
            picture = opened.convert("RGBA" if "A" in opened.getbands() or "transparency" in opened.info else "RGB")
    except UnidentifiedImageError:
        raise UnsupportedMediaType("tim cannot render this file: Pillow does not read it as a picture") from None
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnsupportedMediaType(f"tim cannot render this file: {_reason(error)}") from None
    return picture


def _dicom(file: IO[bytes], size: int) -> Image.Image:
    try:
        header = pydicom.dcmread(file, stop_before_pixels=True)
    except Exception as error:  # noqa: BLE001 - whatever pydicom met, the file does not render
        raise UnsupportedMediaType(f"tim cannot render this DICOM file: {_reason(error)}") from None
    if "Rows" not in header or "Columns" not in header:
        raise UnsupportedMediaType("tim cannot render this DICOM file: it holds no image")
    _check_decodable(header.file_meta.get("TransferSyntaxUID"))
    frames = _whole(header.get("NumberOfFrames")) or 1
    file.seek(0)
    try:
        frame = pixel_array(file, index=frames // 2)
    except Exception as error:  # noqa: BLE001
        raise UnsupportedMediaType(f"tim cannot decode this DICOM file's pixel data: {_reason(error)}") from None
    step = max(1, max(frame.shape[:2]) // (2 * size))
    frame = frame[::step, ::step]  # a view: nothing copied yet
    photometric = str(header.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, header)
    if photometric in MONOCHROME and frame.ndim == 2:
        frame = apply_voi_lut(apply_modality_lut(frame, header), header, index=0)
        return _eight_bit(frame, inverted=photometric == "MONOCHROME1")
    return _eight_bit(frame, inverted=False)


def _check_decodable(syntax: object) -> None:
    if syntax is None:
        return
    uid = pydicom.uid.UID(str(syntax))
    try:
        available = get_decoder(uid).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise UnsupportedMediaType(
            f"tim cannot decode DICOM pixel data in the transfer syntax {uid.name} ({uid}): no installed decoder reads it"
        )


def _eight_bit(pixels: np.ndarray, *, inverted: bool) -> Image.Image:
    """Pixels stretched to 0..255 from their own range (a window already
    applied has set that range), as a grey or RGB picture."""
    values = pixels.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    if inverted:
        scaled = 255.0 - scaled
    grey = np.clip(scaled, 0, 255).astype(np.uint8)
    if grey.ndim == 3 and grey.shape[2] == 1:
        grey = grey[:, :, 0]
    if grey.ndim == 3:
        return Image.fromarray(np.ascontiguousarray(grey[:, :, :3]), "RGB")
    return Image.fromarray(grey, "L")


def _whole(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text or type(error).__name__)[:200]
