"""A client that goes away in the middle of its request body: the server
logs it as the client's doing (status 499 in the access log, no traceback)
and stores nothing."""

from urllib.parse import urlsplit

from e2e.http_servers import created, eventually, json_of
from e2e.slow_clients import connect


def send_half_and_leave(origin: str, method: str, target: str, declared: int, sent: bytes, headers: str = "") -> None:
    head = f"{method} {target} HTTP/1.1\r\nHost: tim\r\n{headers}Content-Length: {declared}\r\n\r\n"
    connect(origin, head.encode() + sent).close()


def access_lines(server, method: str, path: str) -> list[str]:
    return [line for line in server.log().splitlines() if f"method={method} path={path} " in line]


def test_a_json_body_cut_short_is_logged_as_499_without_a_traceback(serve, tmp_path):
    server = serve(tmp_path / "data")
    body = b'{"name": "half a'
    send_half_and_leave(server.origin, "POST", "/v1/tags", 100, body, "Content-Type: application/json\r\n")
    lines = eventually(lambda: access_lines(server, "POST", "/v1/tags"), bool, seconds=10, what="an access log line")
    assert [line.split(" status=")[1].split()[0] for line in lines] == ["499"], lines
    assert "Traceback" not in server.log() and "status=500" not in server.log(), server.log()
    with server.client() as client:
        assert json_of(client.get("/tags"), 200)["meta"]["total_results"] == 0


def test_an_abandoned_signed_put_is_logged_as_499_and_stores_nothing(serve, tmp_path):
    server = serve(tmp_path / "data")
    with server.client() as client:
        image = created(client, "/images", {"filename": "a.dcm", "size": 1000})
    upload = urlsplit(image["upload_url"])
    send_half_and_leave(server.origin, "PUT", f"{upload.path}?{upload.query}", 1000, b"x" * 10)
    lines = eventually(lambda: access_lines(server, "PUT", upload.path), bool, seconds=10, what="an access log line")
    assert [line.split(" status=")[1].split()[0] for line in lines] == ["499"], lines
    assert "Traceback" not in server.log() and "status=500" not in server.log(), server.log()
    with server.client() as client:
        assert json_of(client.get(f"/images/{image['id']}"), 200)["uploaded_timestamp"] is None
    assert list((tmp_path / "data" / "files" / "tmp").iterdir()) == []
