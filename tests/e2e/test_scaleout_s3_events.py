"""The S3 event handler (`tim.entrypoints.s3_events.handler`, the AWS
Lambda shape), called in this process with the notifications S3 sends, next
to a `tim serve` on the same PostgreSQL database and bucket."""

from __future__ import annotations

from urllib.parse import quote_plus

import httpx
import pytest

from e2e.http_servers import created, json_of
from tim.entrypoints import s3_events


@pytest.fixture
def stores(shared_stores):
    # A prefix whose characters S3 encodes in event keys.
    shared_stores.prefix = "tim images/a+b=c"
    return shared_stores


@pytest.fixture
def handler(stores, monkeypatch, tmp_path):
    """The handler as a fresh Lambda container would run it: configured by
    the environment, its manager built on first use (and closed here)."""
    for name, value in stores.environment(TIM_DATA_DIR=str(tmp_path / "lambda")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(s3_events, "_manager", None)
    yield s3_events.handler
    if s3_events._manager is not None:
        s3_events._manager.close()


def notification(stores, key: str, *, event: str = "ObjectCreated:Put", size: int = 0) -> dict:
    """One record as S3 delivers it: the key URL-encoded, spaces as '+'."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T12:00:00.000Z",
        "eventName": event,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZ"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "tim-uploads",
            "bucket": {
                "name": stores.bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{stores.bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }


def test_object_created_events_complete_uploads(serve, stores, handler, tmp_path, sample_dicom):
    data = sample_dicom.read_bytes()
    server = serve(tmp_path / "data", env=stores.environment())
    with server.client() as api:
        good = created(api, "/images", {"filename": "scan.dcm", "size": len(data)})
        wrong = created(api, "/images", {"filename": "wrong.dcm", "size": len(data)})
        good_key, wrong_key = (stores.object_key(image["upload_url"]) for image in (good, wrong))
        assert good_key.startswith(f"{stores.prefix}/uploads/")
        assert quote_plus(good_key, safe="/") != good_key  # the event really carries an encoded key
        assert httpx.put(good["upload_url"], content=data).status_code == 200
        assert httpx.put(wrong["upload_url"], content=data[:-1]).status_code == 200

        event = {
            "Records": [
                notification(stores, good_key, size=len(data)),
                notification(stores, wrong_key, size=len(data) - 1),
                notification(stores, f"{stores.prefix}/uploads/{'0' * 32}", size=1),  # no image: for the sweep
                notification(stores, good_key, event="ObjectRemoved:Delete"),  # not ours to act on
            ]
        }
        assert handler(event, None) == {"uploaded": [good["id"]], "pending": [wrong["id"]]}
        assert stores.uploads() == [] and len(stores.images()) == 1  # moved, and the wrong one removed

        # S3 delivers at least once: a repeated event changes nothing.
        assert handler({"Records": [notification(stores, good_key, size=len(data))]}, None) == {
            "uploaded": [good["id"]],
            "pending": [],
        }
        # The test message S3 sends when notifications are set up has no records.
        assert handler({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": stores.bucket}, None) == {
            "uploaded": [],
            "pending": [],
        }

        image = json_of(api.get(f"/images/{good['id']}"), 200)
        assert image["uploaded_timestamp"] is not None
        assert httpx.get(image["url"]).content == data
        assert json_of(api.get(f"/images/{wrong['id']}"), 200)["uploaded_timestamp"] is None
