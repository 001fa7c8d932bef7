"""The README's examples run as written."""

import contextlib
import io
import re
import shutil
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def fenced_blocks(section: str, language: str) -> list[str]:
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(rf"```{language}\n(.*?)```", text[start : end if end > 0 else None], flags=re.DOTALL)


def test_the_python_example_runs(tmp_path, monkeypatch, sample_dicom):
    [example] = fenced_blocks("Use tim from Python", "python")
    shutil.copy(sample_dicom, tmp_path / "scan.dcm")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    assert printed[0] == "2 scan.dcm ['adult', 'Chest', 'CT'] True"
    assert printed[-1] == "1 found; 4 tags"
    assert (tmp_path / "catalog.db").is_file() and any((tmp_path / "files").rglob("*"))
