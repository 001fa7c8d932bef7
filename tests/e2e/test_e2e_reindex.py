"""Rows that reach the database without tim (a restore, a bulk load) are
found by a running server after `tim reindex`, which every process obeys."""

import json
import sqlite3
from contextlib import closing

from e2e.http_servers import clean_environment, created, json_of, run_tim


def test_tim_reindex_makes_a_running_server_see_rows_loaded_behind_its_back(serve, tmp_path):
    data_dir = tmp_path / "data"
    server = serve(data_dir)
    with server.client() as client:
        created(client, "/upload", {"filename": "a.png", "image_data": "YQ==", "tags": ["kept"]})
        assert json_of(client.get("/images"), 200)["meta"]["total_results"] == 1
        with closing(sqlite3.connect(data_dir / "tim.db")) as db, db:
            db.executemany(
                "INSERT INTO images (filename, size, created_by, created_timestamp, blob_key) VALUES (?, 1, 'loader', ?, ?)",
                [(f"loaded-{n}.png", 5 + n, f"{n:032x}") for n in range(3)],
            )
        assert json_of(client.get("/images"), 200)["meta"]["total_results"] == 1  # nothing told tim
        done = run_tim("reindex", "--data-dir", str(data_dir), env=clean_environment(), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["images"], report["tags"]) == (4, 1) and report["seconds"] >= 0
        page = json_of(client.get("/images"), 200)
        assert page["meta"]["total_results"] == 4
        assert json_of(client.get("/search/images", params={"exact_tags": "kept"}), 200)["meta"]["total_results"] == 1


def test_tim_reindex_needs_a_database_that_outlives_it(tmp_path):
    done = run_tim("reindex", env=clean_environment({"TIM_DATABASE_URL": "memory:"}), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "memory:" in done.stderr
