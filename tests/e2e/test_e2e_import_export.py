"""`tim import` and `tim export` as a user runs them: real `tim` processes on
real stores (the four combinations of SQLite or PostgreSQL with files or
S3), or against a running `tim serve`."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

import imaging_samples as samples
import tim
from e2e.http_servers import TIM, Servers, clean_environment, eventually, run_tim

COMBINATIONS = ["sqlite-files", "sqlite-s3", "postgres-files", "postgres-s3"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=COMBINATIONS)
def stores(request, new_shared_stores, tmp_path):
    """The environment of `tim` commands on one storage combination."""
    database, files = request.param.split("-")
    shared = new_shared_stores()
    env = shared.environment(TIM_DATA_DIR=str(tmp_path / "data"))
    if database == "sqlite":
        env["TIM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'tim.db'}"
    if files == "files":
        env["TIM_BLOBSTORE_URL"] = f"file://{tmp_path / 'data' / 'files'}"
    return env


def opened(env: dict[str, str]):
    """The stores a `tim` child with `env` uses, opened in this process."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3"):
        os.environ.setdefault(name, env[name])
    return tim.open(env["TIM_DATABASE_URL"], env["TIM_BLOBSTORE_URL"])


def every_image(images) -> list:
    found, page = [], 0
    while True:
        batch = images.list_images(page=page)
        found += batch.results
        if not batch.has_more_pages:
            return found
        page += 1


def write_folder(root: Path) -> dict[str, bytes]:
    """A labelled set: folders of DICOM, PNG and JPEG files, a copy, and files
    that are not images. Returns the images by relative path."""
    files = {
        "chest/ct/ct.dcm": samples.identified_ct(),
        "chest/ct/copy-of-ct.dcm": samples.identified_ct(),
        "chest/mr/mr.dcm": samples.mr(),
        "chest/mr/frames.dcm": samples.multi_frame(),
        "knee/photo.png": samples.png(),
        "knee/photo.jpg": samples.jpeg(),
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "knee" / "notes.dcm").write_bytes(samples.text_named_dcm())
    (root / "knee" / "empty.png").write_bytes(b"")
    return files


def test_import_twice_adds_nothing_the_second_time_and_export_round_trips(stores, tmp_path):
    source = tmp_path / "incoming"
    files = write_folder(source)
    first = run_tim("import", str(source), "--tags-from-folders", "--tag", "batch-1", "--dicom-tags", "Modality,BodyPartExamined", "--jobs", "3", env=stores, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("imported 5 files"), first.stdout
    assert "1 duplicates" in first.stdout and "2 skipped" in first.stdout
    assert "notes.dcm: not an image" in first.stdout and "empty.png: an empty file" in first.stdout

    images = opened(stores)
    try:
        stored = every_image(images)
        assert sorted(image.sha256 for image in stored) == sorted({sha(data) for data in files.values()})
        ct = next(image for image in stored if image.sha256 == sha(files["chest/ct/ct.dcm"]))
        assert {tag.name for tag in ct.tags} == {"batch-1", "chest", "ct", "Modality:CT", "BodyPartExamined:CHEST"}
        assert all(image.is_uploaded for image in stored)
    finally:
        images.close()

    again = run_tim("import", str(source), "--tags-from-folders", env=stores, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("imported 0 files"), again.stdout + again.stderr
    assert "6 duplicates" in again.stdout

    exported = tmp_path / "exported"
    result = run_tim("export", "--to", str(exported), "--exact-tags", "chest", env=stores, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("exported 3 files"), result.stdout + result.stderr
    rerun = run_tim("export", "--to", str(exported), "--exact-tags", "chest", env=stores, cwd=tmp_path)
    assert rerun.stdout.startswith("exported 0 files") and "3 present" in rerun.stdout, rerun.stdout
    lines = [json.loads(line) for line in (exported / "manifest.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and not list(exported.rglob("*.part"))
    for line in lines:
        assert sha((exported / line["path"]).read_bytes()) == line["sha256"]
        assert "url" not in line and "chest" in {tag["name"] for tag in line["tags"]}

    # Into a fresh tim: the same records (names, tags, facts) and bytes.
    fresh = dict(stores, TIM_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh' / 'tim.db'}", TIM_BLOBSTORE_URL=f"file://{tmp_path / 'fresh' / 'files'}")
    back = run_tim("import", str(exported), "--manifest", str(exported / "manifest.jsonl"), env=fresh, cwd=tmp_path)
    assert back.returncode == 0 and back.stdout.startswith("imported 3 files"), back.stdout + back.stderr
    images = opened(fresh)
    try:
        restored = {image.sha256: image for image in every_image(images)}
        for line in lines:
            image = restored[line["sha256"]]
            assert image.filename == line["filename"] and image.content_type == line["content_type"]
            assert sorted(tag.name for tag in image.tags) == sorted(tag["name"] for tag in line["tags"])
            assert (image.dicom.as_dict() if image.dicom else None) == line["dicom"]
            assert b"".join(images.read_file(image.id).chunks) == (exported / line["path"]).read_bytes()
    finally:
        images.close()


def many_files(root: Path, count: int) -> list[bytes]:
    root.mkdir(parents=True)
    made = []
    for number in range(count):
        data = samples.png(40 + number % 50, 30 + number // 50)
        (root / f"{number:04}.png").write_bytes(data)
        made.append(data)
    return made


def test_an_import_killed_half_way_imports_every_file_exactly_once_when_run_again(tmp_path):
    env = {"TIM_DATA_DIR": str(tmp_path / "data")}
    made = many_files(tmp_path / "many", 400)
    child = subprocess.Popen(
        [str(TIM), "import", str(tmp_path / "many"), "--jobs", "2"],
        env=clean_environment(env),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = tmp_path / "data" / "tim.db"

    def imported() -> int:
        if not database.exists():
            return 0
        import sqlite3

        with sqlite3.connect(database) as db:
            try:
                return db.execute("SELECT count(*) FROM images").fetchone()[0]
            except sqlite3.OperationalError:  # not made yet
                return 0

    eventually(imported, lambda count: count >= 50, what="the import getting going")
    child.send_signal(signal.SIGKILL)
    child.wait()
    interrupted = imported()
    assert interrupted < len(made), "the import finished before it could be killed"
    result = run_tim("import", str(tmp_path / "many"), "--jobs", "2", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    images = tim.open(f"sqlite:///{database}", f"file://{tmp_path / 'data' / 'files'}")
    try:
        stored = every_image(images)
    finally:
        images.close()
    assert sorted(image.sha256 for image in stored) == sorted(map(sha, made))
    assert all(image.is_uploaded for image in stored)


@pytest.fixture(params=["sqlite-files", "postgres-s3"])
def server(request, new_shared_stores, tmp_path):
    stores = new_shared_stores()
    env = {} if request.param == "sqlite-files" else stores.environment()
    servers = Servers()
    yield servers(tmp_path / "server", env=env, args=()), stores, request.param
    servers.stop_all()


def test_a_remote_import_goes_through_signed_urls_and_resumes_an_interrupted_upload(server, tmp_path):
    served, stores, kind = server
    source = tmp_path / "incoming"
    files = write_folder(source)
    manifest = tmp_path / "labels.csv"
    with manifest.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["path", "tags", "filename"])
        writer.writerow(["incoming/knee/photo.png", "left|reviewed", "left-knee.png"])
    # Earlier runs that made their record and died before uploading (mr), or
    # after uploading but before confirming (the JPEG, on S3 only: tim's own
    # URLs confirm as they receive).
    with served.client() as api:
        mr, jpeg = files["chest/mr/mr.dcm"], files["knee/photo.jpg"]
        leftover = api.post("/images", json={"filename": "mr.dcm", "size": len(mr), "sha256": sha(mr)}).json()
        unconfirmed = api.post("/images", json={"filename": "photo.jpg", "size": len(jpeg), "sha256": sha(jpeg)}).json()
        headers = unconfirmed.get("upload_headers", {})
        if kind == "postgres-s3":
            assert httpx.put(unconfirmed["upload_url"], content=jpeg, headers=headers).status_code == 200
    remote = ("--url", served.api)
    result = run_tim("import", str(source), "--manifest", str(manifest), *remote, env={}, cwd=tmp_path)
    # An unconfirmed upload, once confirmed, counts as imported; unless the
    # import's own lookup of those bytes found the file in S3 first and tim
    # settled it there (reads look for pending uploads, as many as they
    # can): then tim has the bytes already.
    settled_by_lookup = f"tim has these bytes already (image {unconfirmed['id']})" in result.stdout + result.stderr
    imported = "imported 4 files" if settled_by_lookup and kind == "postgres-s3" else "imported 5 files"
    assert result.returncode == 0 and result.stdout.startswith(imported), result.stdout + result.stderr
    with served.client() as api:
        records = api.get("/images").json()["results"]
    assert sorted(r["sha256"] for r in records) == sorted({sha(data) for data in files.values()})
    assert all(r["uploaded_timestamp"] is not None for r in records)
    photo = next(r for r in records if r["sha256"] == sha(files["knee/photo.png"]))
    assert photo["filename"] == "left-knee.png" and {t["name"] for t in photo["tags"]} == {"left", "reviewed"}
    assert leftover["id"] not in {r["id"] for r in records}  # replaced: its upload URL went with the run
    if kind == "postgres-s3":
        assert unconfirmed["id"] in {r["id"] for r in records}  # confirmed, not uploaded again
    if kind == "postgres-s3":  # the bytes went to S3, never through tim
        assert "/v1/blobs/" not in served.log()
    again = run_tim("import", str(source), *remote, env={}, cwd=tmp_path)
    assert again.stdout.startswith("imported 0 files"), again.stdout
    exported = run_tim("export", "--to", str(tmp_path / "out"), "--match-tags", "rev%", *remote, env={}, cwd=tmp_path)
    assert exported.returncode == 0 and exported.stdout.startswith("exported 1 files"), exported.stdout + exported.stderr
    assert (tmp_path / "out" / "files" / f"{photo['id']}-left-knee.png").read_bytes() == files["knee/photo.png"]
    untagged = run_tim("export", "--to", str(tmp_path / "rest"), "--untagged", "--exclude-tags", "left", *remote,
                       env={}, cwd=tmp_path)  # fmt: skip
    assert untagged.stdout.startswith("exported 4 files"), untagged.stdout + untagged.stderr
    assert f"{photo['id']}-left-knee.png" not in {path.name for path in (tmp_path / "rest" / "files").iterdir()}


def test_files_that_cannot_be_imported_are_reported_and_the_run_goes_on(tmp_path):
    env = {"TIM_DATA_DIR": str(tmp_path / "data"), "TIM_MAX_UPLOAD_BYTES": "20000"}
    source = tmp_path / "incoming"
    source.mkdir()
    (source / "small.dcm").write_bytes(samples.mr())
    (source / "large.png").write_bytes(samples.png() + os.urandom(30_000))
    (source / "gone.dcm").symlink_to(tmp_path / "nowhere")
    result = run_tim("import", str(source), "--tag", "a|b", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "large.png: over the size limit" in result.stdout and "gone.dcm: cannot read it" in result.stdout
    assert "small.dcm" in result.stdout  # its tag is refused by tim, with the reason
    result = run_tim("import", str(source), "--tag", "mr", env=env, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout.startswith("imported 1 files"), result.stdout
    assert run_tim("import", str(source), "--dicom-tags", "PatientName", env=env, cwd=tmp_path).returncode == 2
    assert run_tim("import", str(source), "--jobs", "0", env=env, cwd=tmp_path).returncode == 2


def test_the_readme_example_runs_as_written(tmp_path):
    from readme_sections import fenced_blocks

    (blocks,) = fenced_blocks("## Import a folder, export a tagged set", "sh")
    files = write_folder(tmp_path / "incoming")
    env = clean_environment({"TIM_DATA_DIR": str(tmp_path / "tim-data"), "PATH": f"{TIM.parent}:{os.environ['PATH']}"})
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", blocks], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported 0 files" in result.stdout and "exported 1 files" in result.stdout, result.stdout
    (exported,) = (tmp_path / "chest-ct" / "files").iterdir()
    assert exported.read_bytes() == files["chest/ct/ct.dcm"]
