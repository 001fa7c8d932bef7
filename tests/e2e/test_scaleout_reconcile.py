"""`tim reconcile`, run as cron would run it (a separate process with the
servers' TIM_* and AWS settings), finds and settles every kind of leftover
that uploads straight to S3 can leave in PostgreSQL and the bucket."""

from __future__ import annotations

import json
import secrets
import time

import httpx

from e2e.http_servers import created, json_of, next_second, run_tim

REPORT_KEYS = {"completed", "rejected", "expired", "orphans", "replays", "temporaries"}


def report(*counts: int) -> dict[str, int]:
    return dict(zip(["completed", "rejected", "expired", "orphans", "replays"], counts, strict=True)) | {"temporaries": 0}


def test_reconcile_finds_and_fixes_each_kind_of_leftover(serve, shared_stores, tmp_path):
    stores = shared_stores
    env = stores.environment()
    server = serve(tmp_path / "data", env=env)

    def reconcile(*flags: str) -> dict[str, int]:
        result = run_tim("reconcile", *flags, env=env, cwd=tmp_path / "cron")
        assert result.returncode == 0, result.stderr
        counts = json.loads(result.stdout)
        assert set(counts) == REPORT_KEYS, counts
        return counts

    with server.client() as api:
        # Nothing is read back through the API before the sweep: the server's
        # own lazy check would settle the pending records first.
        never = created(api, "/images", {"filename": "never.bin", "size": 4})
        arrived = created(api, "/images", {"filename": "arrived.bin", "size": 4})
        wrong = created(api, "/images", {"filename": "wrong.bin", "size": 4})
        replayed = created(api, "/images", {"filename": "replayed.bin", "size": 4})
        assert httpx.put(arrived["upload_url"], content=b"good").status_code == 200
        assert httpx.put(wrong["upload_url"], content=b"far too long").status_code == 200
        assert httpx.put(replayed["upload_url"], content=b"kept").status_code == 200
        json_of(api.post(f"/images/{replayed['id']}/complete"), 200)
        assert httpx.put(replayed["upload_url"], content=b"evil").status_code == 200
        orphans = [f"{stores.prefix}/{folder}/{secrets.token_hex(16)}" for folder in ("images", "uploads")]
        strangers = [f"{stores.prefix}-other/images/{secrets.token_hex(16)}", "notes.txt"]  # outside tim's prefix
        for key in orphans + strangers:
            stores.s3.put_object(Bucket=stores.bucket, Key=key, Body=b"stray")

        # Every pending upload is settled; the rest waits for the flags.
        assert reconcile() == report(1, 1, 0, 0, 0)
        assert stores.object_key(wrong["upload_url"]) not in stores.uploads()
        # Within the grace period and the age limit nothing more goes.
        assert reconcile("--remove-orphans", "--expire-pending-after", "3600") == report(0, 0, 0, 0, 0)

        # The rejected upload can be redone; then age everything past the limits.
        assert httpx.put(wrong["upload_url"], content=b"good").status_code == 200
        json_of(api.post(f"/images/{wrong['id']}/complete"), 200)
        next_second(int(time.time()))
        swept = reconcile("--remove-orphans", "--orphan-grace", "0", "--expire-pending-after", "0")
        assert swept == report(0, 0, 1, 2, 1)

        assert api.get(f"/images/{never['id']}").status_code == 404
        for image, data in [(arrived, b"good"), (wrong, b"good"), (replayed, b"kept")]:
            record = json_of(api.get(f"/images/{image['id']}"), 200)
            assert record["uploaded_timestamp"] is not None
            assert httpx.get(record["url"]).content == data
        assert stores.uploads() == []
        assert len(stores.images()) == 3 and not set(orphans) & set(stores.images())
        assert set(strangers) <= set(stores.keys())
        assert json_of(api.get("/images"), 200)["meta"]["total_results"] == 3

        # A second sweep finds nothing left to do.
        again = reconcile("--remove-orphans", "--orphan-grace", "0", "--expire-pending-after", "0")
        assert again == report(0, 0, 0, 0, 0)


def test_reconcile_option_errors_are_one_line(shared_stores, tmp_path):
    for flag in ("--orphan-grace", "--expire-pending-after"):
        result = run_tim("reconcile", "--remove-orphans", flag, "soon", env=shared_stores.environment(), cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == "", result
        assert len(result.stderr.splitlines()) == 1 and flag in result.stderr, result.stderr
