"""The import contracts hold, and would catch the violations they exist for."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(root / "src")}
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


VIOLATIONS = [
    ("src/tim/domain/model/tags.py", "import sqlite_utils"),
    ("src/tim/domain/model/search.py", "import tim.adapters.memory.repository"),
    ("src/tim/domain/use_cases/images.py", "import boto3"),
    ("src/tim/ports/clock.py", "import starlette"),
    ("src/tim/domain/model/paging.py", "import tim.ports.clock"),
    ("src/tim/domain/use_cases/tags.py", "import tim.entrypoints.bootstrap"),
    ("src/tim/adapters/memory/clock.py", "import tim.entrypoints.bootstrap"),
    ("src/tim/utils.py", "import os"),
    ("src/tim/adapters/new_store/__init__.py", "import tim.adapters.memory.repository"),
    ("src/tim/adapters/sqlite/repository.py", "import tim.adapters.postings.index"),
    ("src/tim/entrypoints/configuration.py", "import tim.entrypoints.cli"),
    ("src/tim/entrypoints/bootstrap.py", "import tim.entrypoints.configuration"),
    ("src/tim/entrypoints/new_entrypoint.py", "import os"),
    ("src/tim/domain/use_cases/parts.py", "import pyroaring"),
    ("src/tim/adapters/memory/repository.py", "import pyroaring"),
]


@pytest.mark.parametrize("path, line", VIOLATIONS, ids=[f"{p}: {l}" for p, l in VIOLATIONS])
def test_a_violation_is_caught(tmp_path, path, line):
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{line}\n" + (target.read_text() if target.exists() else ""))
    result = lint_imports(tmp_path)
    assert result.returncode != 0, f"{line!r} in {path} was not caught:\n{result.stdout}"
    assert "BROKEN" in result.stdout
