"""schemathesis, run against a real `tim serve` with TIM_AUTH=tokens and a
token made by `tim token create`, finds nothing with every check: no
server error, every answer (status, media type, headers, body) as the
document says, every request the document allows accepted and every one it
refuses refused, authentication enforced, 405 with Allow for other methods.

Bounded and repeatable: a fixed number of examples per operation, a fixed
seed, no example database, one worker."""

import os
import subprocess
import sys
from pathlib import Path

from e2e.http_servers import clean_environment, run_tim

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
TESTS = Path(__file__).resolve().parents[1]
EXAMPLES_PER_OPERATION = 25
SEED = 20261130
DEADLINE_SECONDS = 300


def test_schemathesis_finds_no_failure_with_all_checks(tmp_path, serve):
    data_dir = tmp_path / "data"
    env = {"TIM_AUTH": "tokens"}
    made = run_tim("token", "create", "schemathesis", "--scope", "write", "--data-dir", str(data_dir), env=env,
                   cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = serve(data_dir, env=env)
    command = [
        str(SCHEMATHESIS), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", f"{server.api}/openapi.json",
        "--checks", "all",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--header", f"Authorization: Bearer {made.stdout.strip()}",
        "--no-color",
    ]  # fmt: skip
    hooks = {"SCHEMATHESIS_HOOKS": "e2e.schemathesis_hooks", "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    result = subprocess.run(command, env=clean_environment(hooks), cwd=tmp_path, capture_output=True, text=True,
                            timeout=DEADLINE_SECONDS)  # fmt: skip
    report = result.stdout + result.stderr
    print(summary(report), report.strip().splitlines()[-1])  # shown with pytest -s
    assert result.returncode == 0, report[-30_000:]
    assert "passed" in summary(report) and "failure" not in summary(report), summary(report)
    assert "status=500" not in server.log()


def summary(report: str) -> str:
    """schemathesis' count of test cases: 'N generated, N passed, N skipped'."""
    lines = report.splitlines()
    return next((lines[i + 1].strip() for i, line in enumerate(lines) if line.strip() == "Test cases:"), "")
