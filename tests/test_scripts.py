"""scripts/setup installs what is asked for, and again only when
pyproject.toml changed: serving needs tim alone, the tests need their tools
too. pip is stood in for by a script that notes what it was asked."""

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDING_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../pip.log"
"""


def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "scripts", root / "scripts")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(RECORDING_PYTHON)
    python.chmod(0o755)
    return root


def setup(root: Path, *args: str) -> list[str]:
    """What scripts/setup installed this time."""
    log = root / ".venv" / "pip.log"
    before = log.read_text().splitlines() if log.exists() else []
    subprocess.run([root / "scripts" / "setup", *args], check=True, timeout=60)
    after = log.read_text().splitlines() if log.exists() else []
    return [line.rsplit(" ", 1)[1] for line in after[len(before) :]]


def pyproject_changed(root: Path) -> None:
    earlier = time.time() - 60
    for stamp in (root / ".venv").glob(".installed*"):
        os.utime(stamp, (earlier, earlier))


def test_serving_installs_tim_alone_and_the_tests_add_their_tools(tmp_path):
    root = checkout(tmp_path)
    assert setup(root) == ["."]
    assert setup(root) == []
    assert setup(root, "test") == [".[test]"]
    assert setup(root) == [] and setup(root, "test") == []


def test_a_changed_pyproject_installs_again_once_for_each(tmp_path):
    root = checkout(tmp_path)
    assert setup(root, "test") == [".[test]"]
    assert setup(root) == []  # a test install serves too
    pyproject_changed(root)
    assert setup(root) == ["."]
    assert setup(root) == []
    assert setup(root, "test") == [".[test]"]
    assert setup(root, "test") == []
