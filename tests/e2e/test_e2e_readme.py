"""The README's HTTP walk-through runs as written against a real server."""

import shutil
import subprocess

from conftest import unavailable
from e2e.http_servers import clean_environment, json_of
from readme_sections import fenced_blocks


def walk_through() -> str:
    blocks = fenced_blocks("## HTTP walk-through", "sh")
    assert len(blocks) >= 5, "the walk-through lost its shell blocks"
    return "\n".join(blocks)


def test_the_walk_through_runs_as_written(serve, tmp_path):
    for tool in ["bash", "curl", "jq", "base64", "cmp"]:
        if not shutil.which(tool):
            unavailable(f"the README's walk-through needs {tool}")
    server = serve(tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_through()],
        cwd=work,
        env=clean_environment({"TIM": server.api}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("downloaded the same bytes"), result.stdout
    assert "128" in result.stdout.split(), result.stdout  # curl -r 0-127: a range, not the file

    with server.client() as client:
        images = json_of(client.get("/images"), 200)["results"]
        assert [(image["filename"], image["uploaded_timestamp"] is not None) for image in images] == [
            ("small.dcm", True),
            ("example.dcm", True),
        ]
        assert [tag["name"] for tag in json_of(client.get("/tags"), 200)["results"]] == ["Chest", "CT"]
    assert (work / "downloaded.dcm").read_bytes() == (work / "example.dcm").read_bytes()
