"""The README's access control example for API tokens runs as written
against a real server, and its comments show what it prints."""

import re
import shutil
import subprocess

from conftest import unavailable
from e2e.http_servers import TIM, clean_environment
from readme_sections import fenced_blocks



def tokens_example() -> str:
    [block] = fenced_blocks("### `tokens`", "sh")
    return block


def test_the_tokens_example_runs_as_written(serve, tmp_path):
    if not shutil.which("curl"):
        unavailable("the README's example needs curl")
    env = {"TIM_AUTH": "tokens"}
    server = serve(tmp_path / "data", env=env)
    example = tokens_example()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example],
        cwd=tmp_path,
        env=clean_environment(env | {"TIM": server.api, "TIM_DATA_DIR": str(tmp_path / "data")})
        | {"PATH": f"{TIM.parent}:{clean_environment()['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = result.stdout.splitlines()
    # Each command's output, then the comment after it in the README.
    shown = [line.removeprefix("# ") for line in example.splitlines() if line.startswith("# ")]
    assert len(printed) == len(shown), (printed, shown)
    for got, documented in zip(printed, shown):
        pattern = re.escape(documented).replace(r"\.\.\.", ".*")
        pattern = re.sub(r"2026\\-11\\-29T08:00:00Z", r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ", pattern)
        assert re.fullmatch(pattern, got), (got, documented)
