"""TIM_AUTH=tokens end to end: tokens made with `tim token create`, used over
HTTP against a running `tim serve`; scopes per route family; created_by from
the token; malformed Authorization headers; the JSON access log."""

import base64
import json
import re
from urllib.parse import urlsplit

import httpx
import pytest

from e2e.auth_checks import (
    assert_let_through,
    assert_unauthenticated,
    bearer,
    check_every_route_family,
    raw_get,
    run_tim,
)
from e2e.http_servers import Servers, assert_error, json_of

SECRET = "a-signing-secret-for-the-token-tests"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tim-tokens")
    data_dir = root / "data"
    env = {"TIM_AUTH": "tokens", "TIM_SECRET": SECRET}
    tokens = {}
    for name, scope in [("trainer", "read"), ("categorizer", "write"), ("ops", "admin")]:
        result = run_tim(["token", "create", name, "--scope", scope, "--data-dir", str(data_dir)], env, root)
        assert result.returncode == 0, result.stderr
        tokens[name] = result.stdout.strip()
    log = root / "access.log"
    servers = Servers()
    server = servers(data_dir, env=env | {"TIM_ACCESS_LOG": str(log), "TIM_ACCESS_LOG_FORMAT": "json"})
    yield {"server": server, "tokens": tokens, "env": env, "root": root, "data_dir": data_dir, "log": log}
    servers.stop_all()


@pytest.fixture
def client(setup):
    with setup["server"].client() as client:
        yield client


def tim_token(setup, *args):
    return run_tim(["token", *args, "--data-dir", str(setup["data_dir"])], setup["env"], setup["root"])


def test_token_create_prints_the_secret_once_and_list_never_does(setup):
    secrets = setup["tokens"]
    for secret in secrets.values():
        assert re.fullmatch(r"tim_[A-Za-z0-9_-]{43}", secret), secret
    listed = tim_token(setup, "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(name, scope) for name, scope, _ in rows] == [("categorizer", "write"), ("ops", "admin"), ("trainer", "read")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created) for _, _, created in rows)
    everything = listed.stdout + listed.stderr + "".join(p.read_text(errors="replace") for p in setup["data_dir"].glob("tim.db*"))
    for secret in secrets.values():
        assert secret not in everything


def test_token_commands_refuse_what_cannot_work(setup):
    taken = tim_token(setup, "create", "trainer", "--scope", "read")
    assert taken.returncode == 1 and "exists already" in taken.stderr and taken.stdout == ""
    unknown = tim_token(setup, "revoke", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    bad_scope = tim_token(setup, "create", "x", "--scope", "root")
    assert bad_scope.returncode == 2 and len(bad_scope.stderr.splitlines()) == 1
    bad_name = tim_token(setup, "create", "tab\there", "--scope", "read")
    assert bad_name.returncode == 1 and "name" in bad_name.stderr
    memory = run_tim(["token", "list"], {"TIM_DATABASE_URL": "memory:"}, setup["root"])
    assert memory.returncode == 2 and "TIM_DATABASE_URL" in memory.stderr


def test_each_route_family_needs_a_token_with_the_scope(setup, client):
    tokens = setup["tokens"]
    check_every_route_family(client, reader=tokens["trainer"], writer=tokens["categorizer"])
    # admin includes write
    assert_let_through(client.post("/tags", json={"name": "by-ops"}, headers=bearer(tokens["ops"])))


def test_unknown_revoked_and_misplaced_tokens_are_refused(setup, client):
    tokens = setup["tokens"]
    assert_unauthenticated(client.get("/images", headers=bearer("tim_" + "A" * 43)), credential_given=True)
    assert_unauthenticated(client.get("/images", headers=bearer(tokens["trainer"][:-1])), credential_given=True)
    # Only the Authorization header carries a token: not the query string, not a cookie.
    assert_unauthenticated(client.get("/images", params={"access_token": tokens["ops"]}), credential_given=False)
    assert_unauthenticated(
        client.get("/images", headers={"Cookie": f"access_token={tokens['ops']}; token={tokens['ops']}"}),
        credential_given=False,
    )

    made = tim_token(setup, "create", "temporary", "--scope", "write")
    temporary = made.stdout.strip()
    assert_let_through(client.get("/images", headers=bearer(temporary)))
    revoked = tim_token(setup, "revoke", "temporary")
    assert revoked.returncode == 0, revoked.stderr
    assert_unauthenticated(client.get("/images", headers=bearer(temporary)), credential_given=True)


def test_created_by_is_the_token_name_and_never_the_body(setup, client):
    writer = bearer(setup["tokens"]["categorizer"])
    pending = json_of(client.post("/images", json={"filename": "a.dcm", "size": 3, "tags": ["mine"]}, headers=writer), 201)
    uploaded = json_of(
        client.post("/upload", json={"filename": "b.dcm", "image_data": "AAAA", "tags": ["mine"]}, headers=writer), 201
    )
    assert uploaded["created_by"] == "categorizer"
    assert json_of(client.get(f"/images/{pending['id']}", headers=writer), 200)["created_by"] == "categorizer"
    before = json_of(client.get("/images", headers=writer), 200)["meta"]["total_results"]
    for path, body in [
        ("/images", {"filename": "c.dcm", "size": 3, "created_by": "someone-else"}),
        ("/upload", {"filename": "c.dcm", "image_data": "AAAA", "created_by": "someone-else"}),
    ]:
        assert_error(client.post(path, json=body, headers=writer), 400, "created_by")
    assert json_of(client.get("/images", headers=writer), 200)["meta"]["total_results"] == before


def test_images_can_be_listed_by_who_created_them(setup, client):
    tokens = setup["tokens"]
    reader = bearer(tokens["trainer"])
    ops = json_of(client.post("/upload", json={"filename": "o.dcm", "image_data": "AAAA", "tags": ["by"]},
                              headers=bearer(tokens["ops"])), 201)
    mine = json_of(client.post("/upload", json={"filename": "c.dcm", "image_data": "AAAA", "tags": ["by"]},
                               headers=bearer(tokens["categorizer"])), 201)
    tag_id = mine["tags"][0]["id"]
    for path, params in [
        ("/images", {}),
        ("/search/images", {"exact_tags": "by"}),
        (f"/tags/{tag_id}/images", {}),
    ]:
        by_ops = json_of(client.get(path, params=params | {"created_by": "ops"}, headers=reader), 200)
        assert [image["id"] for image in by_ops["results"]] == [ops["id"]], path
        by_categorizer = json_of(client.get(path, params=params | {"created_by": "categorizer"}, headers=reader), 200)
        assert mine["id"] in [image["id"] for image in by_categorizer["results"]]
        assert {image["created_by"] for image in by_categorizer["results"]} == {"categorizer"}
        nobody = json_of(client.get(path, params=params | {"created_by": "nobody"}, headers=reader), 200)
        assert nobody["meta"]["total_results"] == 0
        everyone = json_of(client.get(path, params=params | {"created_by": ""}, headers=reader), 200)
        assert everyone["meta"]["total_results"] >= 2


def test_signed_urls_work_without_a_token_but_only_as_signed(setup, client):
    writer = bearer(setup["tokens"]["categorizer"])
    created = json_of(client.post("/images", json={"filename": "s.bin", "size": 4}, headers=writer), 201)
    stored = httpx.put(created["upload_url"], content=b"\x01\x02\x03\x04")  # no Authorization
    assert json_of(stored, 200)["created_by"] == "categorizer"
    url = json_of(client.get(f"/images/{created['id']}", headers=writer), 200)["url"]
    assert httpx.get(url).content == b"\x01\x02\x03\x04"
    assert_error(httpx.get(url.replace("signature=", "signature=0")), 403)  # tampered
    assert_error(httpx.put(url, content=b"\x01\x02\x03\x04"), 403)  # a download URL is no upload URL
    assert_error(httpx.get(urlsplit(url)._replace(query="").geturl()), 403)  # no signature


MALFORMED = {
    "other scheme": ([b"Authorization: Basic " + base64.b64encode(b"ops:secret")], 401),
    "bare Bearer": ([b"Authorization: Bearer"], 401),
    "Bearer and spaces": ([b"Authorization: Bearer    "], 401),
    "empty header": ([b"Authorization: "], 401),
    "token without scheme": ([b"Authorization: tim_" + b"A" * 43], 401),
    "non-ASCII token": ([b"Authorization: Bearer tim_" + "ünïcode".encode()], 401),
    "Latin-1 token": ([b"Authorization: Bearer tim_" + b"\xe9" * 43], 401),
    "token with a space": ([b"Authorization: Bearer tim_abc def"], 401),
    "over 8 KiB": ([b"Authorization: Bearer " + b"A" * 9000], 400),
    "two headers": ([b"Authorization: Bearer tim_a", b"Authorization: Bearer tim_b"], 400),
}


@pytest.mark.parametrize("lines, status", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_authorization_headers_are_json_errors(setup, lines, status):
    answered, body = raw_get(setup["server"].port, "/v1/images", lines)
    assert answered == status and body["code"] == status and body["message"], body


def test_several_authorization_headers_are_a_bad_request(setup, client):
    token = setup["tokens"]["ops"]
    response = client.get("/images", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")])
    assert_error(response, 400)


def test_headers_beyond_what_the_server_reads_are_refused_not_failed(setup):
    # h11 (uvicorn's parser) stops reading headers at 16 KiB and answers 400
    # itself, before tim sees the request.
    response = httpx.get(f"{setup['server'].api}/images", headers={"Authorization": "Bearer " + "A" * 40_000})
    assert response.status_code == 400


def test_the_scheme_is_case_insensitive_and_spaces_around_the_token_are_ignored(setup, client):
    token = setup["tokens"]["trainer"]
    assert json_of(client.get("/tags", headers={"Authorization": f"bearer  {token}"}), 200)
    status, _ = raw_get(setup["server"].port, "/v1/tags", [f"Authorization: BEARER {token}  ".encode()])
    assert status == 200


def test_the_openapi_document_stays_public_and_describes_the_scheme(client):
    document = json_of(client.get("/openapi.json"), 200)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/blobs/{key}"]["get"]["security"] == []
    assert "401" in document["paths"]["/images"]["get"]["responses"]


def test_the_access_log_has_a_line_per_request_without_secrets(setup, client):
    tokens = setup["tokens"]
    writer = bearer(tokens["categorizer"])
    created = json_of(client.post("/images", json={"filename": "log.bin", "size": 2}, headers=writer), 201)
    json_of(httpx.put(created["upload_url"], content=b"ok"), 200)
    url = json_of(client.get(f"/images/{created['id']}", headers=writer), 200)["url"]
    assert httpx.get(url).content == b"ok"
    tag = json_of(client.post("/tags", json={"name": "logged"}, headers=writer), 201)
    client.get(f"/tags/{tag['id']}/images?created_by=categorizer&limit=5", headers=bearer(tokens["trainer"]))
    client.delete(f"/tags/{tag['id']}", headers=bearer(tokens["trainer"]))  # 403
    client.get("/images?access_token=" + tokens["ops"])  # 401

    text = setup["log"].read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert set(line) == {"time", "principal", "method", "path", "status", "duration_ms", "image_id", "tag_id"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) and line["duration_ms"] >= 0
    key = urlsplit(created["upload_url"]).path.rsplit("/", 1)[1]
    picked = [
        (line["principal"], line["method"], line["path"], line["status"], line["image_id"], line["tag_id"])
        for line in lines
        if line["image_id"] == created["id"] or line["tag_id"] == tag["id"] or "access_token" in line["path"]
        or line["path"] == "/v1/images" and line["status"] == 401
    ]
    assert picked[-8:] == [
        ("categorizer", "POST", "/v1/images", 201, created["id"], None),
        (None, "PUT", f"/v1/blobs/{key}", 200, created["id"], None),
        ("categorizer", "GET", f"/v1/images/{created['id']}", 200, created["id"], None),
        (None, "GET", f"/v1/blobs/{key}", 200, created["id"], None),
        ("categorizer", "POST", "/v1/tags", 201, None, tag["id"]),
        ("trainer", "GET", f"/v1/tags/{tag['id']}/images", 200, None, tag["id"]),
        ("trainer", "DELETE", f"/v1/tags/{tag['id']}", 403, None, tag["id"]),
        (None, "GET", "/v1/images", 401, None, None),
    ]
    signature = dict(httpx.URL(url).params)["signature"]
    for secret in [*tokens.values(), signature, "signature=", "expires=", "?"]:
        assert secret not in text
