"""The README's examples run as written."""

import contextlib
import io
import shutil

from readme_sections import fenced_blocks

def test_the_python_example_runs(tmp_path, monkeypatch, sample_dicom):
    example, queries = fenced_blocks("## Use tim from Python", "python")
    shutil.copy(sample_dicom, tmp_path / "scan.dcm")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    assert printed[0] == "2 scan.dcm ['adult', 'Chest', 'CT'] True"
    assert printed[-1] == "1 found; 4 tags"
    assert (tmp_path / "catalog.db").is_file() and any((tmp_path / "files").rglob("*"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(queries, "README.md", "exec"), {"__name__": "__readme__"})
    assert out.getvalue().splitlines() == ["1", "0", "0"]  # the scan; no lung% image; every image is tagged
