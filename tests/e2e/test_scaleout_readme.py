"""The README's Deployment section works as written on PostgreSQL and S3:
its upload commands, and the `tim reconcile` command lines it suggests for
cron and systemd."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import httpx

from conftest import unavailable
from e2e.http_servers import clean_environment, json_of, run_tim
from readme_sections import section



def section_text() -> str:
    return section("## Deployment")


def test_the_s3_upload_commands_run_as_written(serve, shared_stores, tmp_path, sample_dicom):
    for tool in ["bash", "curl", "jq"]:
        if not shutil.which(tool):
            unavailable(f"the README's upload commands need {tool}")
    [commands] = re.findall(r"```sh\n(.*?)```", section_text(), flags=re.DOTALL)
    server = serve(tmp_path / "data", env=shared_stores.environment())
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(sample_dicom, work / "scan.dcm")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=work,
        env=clean_environment({"TIM": server.api}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr + server.log()
    assert result.stdout.split()[-1].isdigit(), result.stdout  # the uploaded_timestamp

    with server.client() as api:
        [image] = json_of(api.get("/images"), 200)["results"]
    assert image["filename"] == "scan.dcm" and image["uploaded_timestamp"] is not None
    assert httpx.get(image["url"]).content == sample_dicom.read_bytes()


def test_the_suggested_reconcile_commands_run(shared_stores, tmp_path):
    commands = set(re.findall(r"(?:bin/tim|\$ tim) (reconcile\b[^\n`]*)", section_text()))
    assert len(commands) >= 1, "the Deployment section lost its reconcile commands"
    for command in sorted(commands):
        result = run_tim(*command.split(), env=shared_stores.environment(), cwd=tmp_path)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert json.loads(result.stdout) == dict.fromkeys(["completed", "rejected", "expired", "orphans", "replays", "temporaries"], 0)
