"""Configuration of `tim serve`: what cannot work stops it at once with one
line on stderr and exit status 2; what can work serves."""

import subprocess

import httpx
import pytest

from e2e.http_servers import TIM, assert_error, clean_environment, created, json_of, seconds_during

BAD_CONFIGURATIONS = {
    "port not a number": (["--port", "http"], {}, "--port"),
    "port zero": (["--port", "0"], {}, "--port"),
    "port too high": (["--port", "70000"], {}, "--port"),
    "no workers": (["--workers", "0"], {}, "--workers"),
    "unknown flag": (["--colour", "blue"], {}, "--colour"),
    "expiry not a number": ([], {"TIM_URL_EXPIRY_SECONDS": "soon"}, "TIM_URL_EXPIRY_SECONDS"),
    "expiry zero": ([], {"TIM_URL_EXPIRY_SECONDS": "0"}, "TIM_URL_EXPIRY_SECONDS"),
    "negative upload limit": ([], {"TIM_MAX_UPLOAD_BYTES": "-1"}, "TIM_MAX_UPLOAD_BYTES"),
    "fractional inline limit": ([], {"TIM_MAX_INLINE_UPLOAD_BYTES": "1.5"}, "TIM_MAX_INLINE_UPLOAD_BYTES"),
    "no tags per image": ([], {"TIM_MAX_TAGS_PER_IMAGE": "0"}, "TIM_MAX_TAGS_PER_IMAGE"),
    "unknown database": ([], {"TIM_DATABASE_URL": "mysql://db/tim"}, "mysql://db/tim"),
    "sqlite without a path": ([], {"TIM_DATABASE_URL": "sqlite://"}, "sqlite://"),
    "unknown blob store": ([], {"TIM_BLOBSTORE_URL": "ftp://files"}, "ftp://files"),
    "relative file store": ([], {"TIM_BLOBSTORE_URL": "file://files"}, "file://files"),
    "public URL without scheme": ([], {"TIM_PUBLIC_URL": "example.com:8000"}, "TIM_PUBLIC_URL"),
    "public URL with a query": ([], {"TIM_PUBLIC_URL": "https://example.com/?a=b"}, "TIM_PUBLIC_URL"),
    "short secret": ([], {"TIM_SECRET": "short"}, "TIM_SECRET"),
    "default user with a control character": ([], {"TIM_DEFAULT_USER": "bad\tname"}, "TIM_DEFAULT_USER"),
    "memory stores with several workers": (
        ["--workers", "2"],
        {"TIM_DATABASE_URL": "memory:", "TIM_BLOBSTORE_URL": "memory:"},
        "memory:",
    ),
}


def run_tim(args, env, timeout=60):
    return subprocess.run([TIM, *args], env=clean_environment(env), capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, env, mentioned", BAD_CONFIGURATIONS.values(), ids=BAD_CONFIGURATIONS.keys())
def test_bad_configuration_fails_at_start_in_one_line(tmp_path, args, env, mentioned):
    result = run_tim(["serve", "--data-dir", str(tmp_path / "data"), *args], env)
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("tim") and mentioned in result.stderr, result.stderr


def test_an_unusable_data_directory_fails_at_start_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    result = run_tim(["serve", "--data-dir", str(tmp_path / "a-file" / "data")], {})
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result
    assert "data directory" in result.stderr


def test_a_database_that_cannot_be_opened_fails_at_start_in_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tim.db").write_text("this is not a SQLite database " * 100)
    result = run_tim(["serve", "--data-dir", str(tmp_path / "data")], {})
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result
    assert "Traceback" not in result.stderr


def test_help_names_every_flag():
    result = run_tim(["serve", "--help"], {})
    assert result.returncode == 0
    for flag in ["--host", "--port", "--data-dir", "--workers"]:
        assert flag in result.stdout


def test_the_data_directory_is_created_and_environment_settings_apply(serve, tmp_path):
    data_dir = tmp_path / "new" / "data"
    env = {
        "TIM_DATA_DIR": str(tmp_path / "ignored"),  # the flag wins
        "TIM_PUBLIC_URL": "https://images.example.com/tim/",
        "TIM_URL_EXPIRY_SECONDS": "60",
        "TIM_DEFAULT_USER": "radiology",
        "TIM_MAX_UPLOAD_BYTES": "1000",
        "TIM_MAX_INLINE_UPLOAD_BYTES": "200",
        "TIM_MAX_TAGS_PER_IMAGE": "2",
    }
    server = serve(data_dir, env=env)
    assert (data_dir / "tim.db").is_file() and not (tmp_path / "ignored").exists()
    with server.client() as client:
        made, during = seconds_during(lambda: created(client, "/images", {"filename": "a.bin", "size": 1000}))
        assert made["upload_url"].startswith("https://images.example.com/tim/v1/blobs/")
        expires = int(httpx.URL(made["upload_url"]).params["expires"])
        image = json_of(client.get(f"/images/{made['id']}"), 200)
        assert image["created_by"] == "radiology"
        # Signed 60 s after a moment of the request, no earlier than the record was made.
        assert expires - 60 in during and image["created_timestamp"] <= expires - 60
        assert client.post("/images", json={"filename": "a.bin", "size": 1001}).status_code == 400
        assert client.post("/upload", json={"filename": "a.bin", "image_data": "A" * 200}).status_code == 413
        assert_error(client.put(f"/images/{made['id']}", json={"tags": ["a", "b", "c"]}), 400, "tags")
        retagged = json_of(client.put(f"/images/{made['id']}", json={"tags": ["b", "a", "b"]}), 200)
        assert [tag["name"] for tag in retagged["tags"]] == ["a", "b"]


def test_several_workers_serve_one_data_directory(serve, tmp_path):
    server = serve(tmp_path / "data", args=("--workers", "2"))
    ids = set()
    for _ in range(10):
        with server.client() as client:  # a new connection each time, to reach both workers
            ids.add(created(client, "/upload", {"filename": "w.bin", "image_data": "AAAA", "tags": ["w"]})["id"])
    assert len(ids) == 10
    with server.client() as client:
        assert json_of(client.get("/images"), 200)["meta"]["total_results"] == 10
        for image in json_of(client.get("/images"), 200)["results"]:
            assert httpx.get(image["url"]).content == b"\0\0\0"  # every worker knows the signing secret
