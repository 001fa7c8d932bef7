"""What only the imaging adapter has: its memory on a large file, and its
DICOM header reader's limits."""

import io
import tracemalloc

import numpy as np
import pydicom
from PIL import Image

import imaging_samples as samples
from tim.adapters.imaging.dicom_headers import PydicomHeaders
from tim.adapters.imaging.previews import PillowPreviews
from tim.domain.model.facts import DICOM_ALLOWLIST


def large_multi_frame(path, frames=100, rows=512, columns=512):
    dataset = pydicom.dcmread(io.BytesIO(samples.multi_frame()))
    dataset.NumberOfFrames, dataset.Rows, dataset.Columns = frames, rows, columns
    pixels = np.zeros((frames, rows, columns), dtype=np.uint16)
    pixels[frames // 2] = np.arange(columns, dtype=np.uint16)[None, :]
    dataset.PixelData = pixels.tobytes()
    dataset.save_as(path, enforce_file_format=True)


def test_a_large_file_is_never_held_whole_in_memory(tmp_path):
    path = tmp_path / "large.dcm"
    large_multi_frame(path)  # 100 frames of 512 x 512 x 2 bytes: 52 MB
    size = path.stat().st_size

    def chunks():
        with path.open("rb") as file:
            yield from iter(lambda: file.read(1 << 20), b"")

    tracemalloc.start()
    try:
        png = PillowPreviews().render(chunks(), "application/dicom", 256)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 3, f"{peak} bytes at the peak for a {size} byte file"
    picture = Image.open(io.BytesIO(png))
    assert picture.size == (256, 256) and max(picture.tobytes()) > min(picture.tobytes())


def test_the_header_reader_reads_only_the_allowlist():
    found = PydicomHeaders().read(samples.identified_ct())
    assert found["Modality"] == "CT" and found["Rows"] == 128
    assert set(found) <= set(DICOM_ALLOWLIST)
    assert not any(secret in str(found) for secret in samples.SECRETS)
    for not_dicom in (b"", samples.text_named_dcm(), samples.truncated_dicom(), samples.png()):
        assert PydicomHeaders().read(not_dicom) is None
