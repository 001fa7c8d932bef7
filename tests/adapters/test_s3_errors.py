"""What S3 failures look like to tim: StorageUnavailable with a message an
operator can act on, never a botocore traceback; bugs stay visible."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from s3_server import ACCESS_KEY, REGION, SECRET_KEY, free_port
from tim.adapters.s3.blob_store import S3BlobStore
from tim.adapters.s3.client import CLIENT_CONFIG
from tim.domain.model.errors import StorageUnavailable
from tim.domain.model.images import new_blob_key


def client_for(endpoint: str, **settings):
    config = CLIENT_CONFIG.merge(Config(**settings))
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return session.client("s3", endpoint_url=endpoint, config=config)


def test_a_closed_port_is_storage_unavailable(s3_server, monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    store = S3BlobStore.from_url("s3://bucket/prefix")  # the production client and its retry limit
    key = new_blob_key()
    with pytest.raises(StorageUnavailable, match=f"cannot reach S3 at {endpoint}"):
        store.stat(key)
    with pytest.raises(StorageUnavailable, match=f"cannot reach S3 at {endpoint}"):
        store.put(key, [b"abc"], 3)


def test_a_server_that_never_answers_is_storage_unavailable():
    with socket.socket() as silent:  # accepts connections (in the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = "http://127.0.0.1:%d" % silent.getsockname()[1]
        client = client_for(endpoint, read_timeout=0.5, retries={"mode": "standard", "max_attempts": 1})
        with pytest.raises(StorageUnavailable, match="cannot reach S3"):
            S3BlobStore(client, "bucket").stat(new_blob_key())


@pytest.fixture
def failing_s3():
    """An S3 endpoint answering every request with the error it is told to."""
    answer = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, code = answer["status"], answer["code"]
            body = f"<Error><Code>{code}</Code><Message>as told</Message></Error>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]

    def store(status: int, code: str) -> S3BlobStore:
        answer.update(status=status, code=code)
        client = client_for(endpoint, retries={"mode": "standard", "max_attempts": 1})
        return S3BlobStore(client, "the-bucket", "prefix")

    yield store
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (503, "SlowDown", "cannot serve requests right now \\(SlowDown\\)"),
        (500, "InternalError", "cannot serve requests right now \\(InternalError\\)"),
        (502, "BadGateway", "cannot serve requests right now"),
        (403, "AccessDenied", "refused access to bucket 'the-bucket' \\(AccessDenied\\): check the credentials"),
        (403, "InvalidAccessKeyId", "check the credentials"),
        (404, "NoSuchBucket", "bucket 'the-bucket' does not exist"),
    ],
)
def test_s3_errors_become_storage_unavailable(failing_s3, status, code, message):
    store = failing_s3(status, code)
    with pytest.raises(StorageUnavailable, match=message):
        store.get(new_blob_key())
    with pytest.raises(StorageUnavailable, match=message):
        list(store.objects())


def test_errors_that_mean_a_bug_in_tim_are_not_disguised(failing_s3):
    store = failing_s3(400, "InvalidArgument")
    with pytest.raises(ClientError, match="InvalidArgument"):
        store.get(new_blob_key())


def test_missing_credentials_are_storage_unavailable(s3_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to fall back on
    store = S3BlobStore.from_url("s3://bucket/prefix")
    with pytest.raises(StorageUnavailable, match="no usable AWS credentials for S3 bucket 'bucket'"):
        store.upload_url(new_blob_key(), 5, 2_000_000_000)
    with pytest.raises(StorageUnavailable, match="no usable AWS credentials"):
        store.stat(new_blob_key())
