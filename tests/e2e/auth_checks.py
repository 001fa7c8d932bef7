"""What every authentication mode must hold, over HTTP: the route families
with the scope each needs, and checks of 401 and 403 answers."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import httpx

from e2e.http_servers import TIM, assert_error, clean_environment

# One request of every operation of the API, with the scope it needs. Ids
# that name nothing are fine: the check comes before the lookup.
READ_ROUTES = [
    ("GET", "/images", None),
    ("GET", "/images/999999", None),
    ("GET", "/tags", None),
    ("GET", "/tags/999999", None),
    ("GET", "/tags/999999/images", None),
    ("GET", "/search/images?exact_tags=x", None),
]
WRITE_ROUTES = [
    ("POST", "/images", {"filename": "a.dcm", "size": 3}),
    ("PUT", "/images/999999", {"tags": ["x"]}),
    ("DELETE", "/images/999999", None),
    ("POST", "/images/999999/complete", None),
    ("POST", "/upload", {"filename": "a.dcm", "image_data": "AAAA"}),
    ("POST", "/tags", {"name": "refused"}),
    ("PUT", "/tags/999999", {"name": "refused"}),
    ("DELETE", "/tags/999999", None),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client: httpx.Client, method: str, path: str, body, headers=None) -> httpx.Response:
    return client.request(method, path, json=body, headers=headers)


def assert_unauthenticated(response: httpx.Response, *, credential_given: bool) -> None:
    assert_error(response, 401)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="tim"'), challenge
    assert ('error="invalid_token"' in challenge) == credential_given, challenge


def assert_forbidden(response: httpx.Response, needed: str) -> None:
    assert_error(response, 403)
    assert f'error="insufficient_scope", scope="{needed}"' in response.headers["www-authenticate"]


def assert_let_through(response: httpx.Response) -> None:
    """Past authentication and authorization: the route itself answered."""
    assert response.status_code not in (401, 403), f"{response.status_code} {response.text}"
    assert response.status_code < 500, f"{response.status_code} {response.text}"


def check_every_route_family(client: httpx.Client, *, reader: str, writer: str, nothing: str | None = None) -> None:
    """Without a credential every route is 401; a reader may read and is 403
    on writes; a writer may do both; `nothing` (a valid credential granting
    no tim scope) is 403 everywhere."""
    for method, path, body in READ_ROUTES + WRITE_ROUTES:
        assert_unauthenticated(call(client, method, path, body), credential_given=False)
    for method, path, body in READ_ROUTES:
        assert_let_through(call(client, method, path, body, bearer(reader)))
        assert_let_through(call(client, method, path, body, bearer(writer)))
    for method, path, body in WRITE_ROUTES:
        assert_forbidden(call(client, method, path, body, bearer(reader)), "write")
        assert_let_through(call(client, method, path, body, bearer(writer)))
    if nothing is not None:
        for method, path, body in READ_ROUTES + WRITE_ROUTES:
            needed = "read" if method == "GET" else "write"
            assert_forbidden(call(client, method, path, body, bearer(nothing)), needed)


def run_tim(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TIM), *args], env=clean_environment(env), cwd=cwd, capture_output=True, text=True, timeout=120
    )


def raw_get(port: int, path: str, header_lines: list[bytes]) -> tuple[int, dict]:
    """GET with header lines sent byte for byte (HTTP clients refuse to send
    malformed ones); the status and the JSON body of the answer."""
    request = b"\r\n".join([f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close", *header_lines])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request + b"\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), answer
    return status, json.loads(body)
