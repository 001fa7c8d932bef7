"""TIM_AUTH=jwt end to end: a running `tim serve` checks bearer JWTs against
the JWKS of a local identity provider (RSA keys made here, served over
HTTP from a thread), and refuses every kind of bad token."""

import httpx
import pytest

from e2e.auth_checks import (
    assert_forbidden,
    assert_let_through,
    assert_unauthenticated,
    bearer,
    check_every_route_family,
    run_tim,
)
from e2e.http_servers import Servers, assert_error, json_of
from jwks_server import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    claims,
    hmac_with_public_key,
    serving_jwks,
    tampered,
    unsigned,
)


@pytest.fixture(scope="module")
def key():
    return SigningKey("idp-key-1")


@pytest.fixture(scope="module")
def jwks(key):
    with serving_jwks(key) as server:
        yield server


def jwt_environment(jwks_url, **more):
    return {
        "TIM_AUTH": "jwt",
        "TIM_JWT_JWKS_URL": jwks_url,
        "TIM_JWT_ISSUER": ISSUER,
        "TIM_JWT_AUDIENCE": AUDIENCE,
        **more,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, jwks):
    servers = Servers()
    yield servers(tmp_path_factory.mktemp("tim-jwt") / "data", env=jwt_environment(jwks.url))
    servers.stop_all()


@pytest.fixture
def client(server):
    with server.client() as client:
        yield client


def test_each_route_family_needs_a_token_with_the_scope(client, key):
    check_every_route_family(
        client,
        reader=key.sign(claims(sub="trainer", scope="tim:read")),
        writer=key.sign(claims(sub="categorizer", scope="openid tim:write")),
        nothing=key.sign(claims(sub="visitor", scope="openid profile")),
    )


def test_a_good_token_makes_its_subject_the_creator(client, key):
    token = key.sign(claims(sub="categorizer", scope=["read", "write"]))
    image = json_of(client.post("/upload", json={"filename": "j.dcm", "image_data": "AAAA"}, headers=bearer(token)), 201)
    assert image["created_by"] == "categorizer"
    listed = json_of(client.get("/images", params={"created_by": "categorizer"}, headers=bearer(token)), 200)
    assert image["id"] in [found["id"] for found in listed["results"]]


def test_bad_tokens_are_refused(client, key, jwks):
    other_key_same_kid = SigningKey(key.kid)
    other_key_new_kid = SigningKey("not-published")
    good = key.sign(claims())
    header, payload, signature = good.split(".")
    bad = {
        "expired": key.sign(claims(lifetime=-3600)),
        "wrong issuer": key.sign(claims(iss="https://evil.test/pool")),
        "wrong audience": key.sign(claims(aud="another-api")),
        "no audience": key.sign({k: v for k, v in claims().items() if k != "aud"}),
        "no expiry": key.sign({k: v for k, v in claims().items() if k != "exp"}),
        "not yet valid": key.sign(claims(nbf=2**40)),
        "other key, same kid": other_key_same_kid.sign(claims()),
        "other key, unknown kid": other_key_new_kid.sign(claims()),
        "alg none": unsigned(claims(), key.kid),
        "alg none, signature kept": unsigned(claims(), key.kid) + signature,
        "HS256 with the public key": hmac_with_public_key(claims(), key),
        "RS512 where RS256 is configured": key.sign(claims(), algorithm="RS512"),
        "tampered subject": tampered(good, sub="admin"),
        "tampered scope": tampered(key.sign(claims(scope="tim:read")), scope="tim:admin"),
        "signature cut off": f"{header}.{payload}.",
        "signature of another token": f"{header}.{payload}.{key.sign(claims(sub='bob')).split('.')[2]}",
        "not a JWT": "tim_" + "A" * 43,
        "garbage": "a.b.c",
    }
    for name, token in bad.items():
        for method, path in [("GET", "/images"), ("POST", "/tags")]:
            response = client.request(method, path, json={"name": "never"}, headers=bearer(token))
            assert response.status_code == 401, (name, response.status_code, response.text)
            assert_unauthenticated(response, credential_given=True)
    assert_let_through(client.get("/images", headers=bearer(good)))
    assert jwks.fetches <= 2  # a made-up kid refetches the set at most once per cooldown


def test_a_token_without_a_tim_scope_is_forbidden_not_unauthenticated(client, key):
    for scope in ["", "openid email", "tim:superuser", "TIM:WRITE"]:
        assert_forbidden(client.get("/tags", headers=bearer(key.sign(claims(scope=scope)))), "read")


def test_signed_urls_need_no_jwt(client, key):
    writer = bearer(key.sign(claims(sub="categorizer")))
    created = json_of(client.post("/images", json={"filename": "u.bin", "size": 2}, headers=writer), 201)
    assert json_of(httpx.put(created["upload_url"], content=b"hi"), 200)["created_by"] == "categorizer"


def test_cognito_access_tokens(tmp_path, serve, key, jwks):
    """A Cognito user pool's access tokens: the user in `username`, the app
    client in `client_id` (no `aud`), scopes of a resource server `tim`."""
    env = jwt_environment(jwks.url, TIM_JWT_USER_CLAIM="username", TIM_JWT_AUDIENCE_CLAIM="client_id")
    server = serve(tmp_path / "data", env=env)
    access = {k: v for k, v in claims(sub="0f1e-uuid", scope="tim/write").items() if k != "aud"}
    access |= {"username": "ana", "client_id": AUDIENCE, "token_use": "access"}
    with server.client() as client:
        upload = {"filename": "c.dcm", "image_data": "AAAA"}
        image = json_of(client.post("/upload", json=upload, headers=bearer(key.sign(access))), 201)
        assert image["created_by"] == "ana"
        id_token = claims(sub="0f1e-uuid", **{"cognito:username": "ana", "token_use": "id"})  # aud, no client_id
        assert_unauthenticated(client.get("/images", headers=bearer(key.sign(id_token))), credential_given=True)
        other_client = access | {"client_id": "another-app"}
        assert_unauthenticated(client.get("/images", headers=bearer(key.sign(other_client))), credential_given=True)


def test_an_unreachable_identity_provider_is_503_not_401(tmp_path, serve, key):
    with serving_jwks(key) as gone:
        url = gone.url
    server = serve(tmp_path / "data", env=jwt_environment(url))
    with server.client() as client:
        assert_error(client.get("/images", headers=bearer(key.sign(claims()))), 503)
        assert_unauthenticated(client.get("/images"), credential_given=False)


BAD_SETTINGS = {
    "no JWKS URL": ({"TIM_JWT_JWKS_URL": ""}, "TIM_JWT_JWKS_URL"),
    "no issuer": ({"TIM_JWT_ISSUER": ""}, "TIM_JWT_ISSUER"),
    "no audience": ({"TIM_JWT_AUDIENCE": ""}, "TIM_JWT_AUDIENCE"),
    "HMAC": ({"TIM_JWT_ALGORITHMS": "RS256,HS256"}, "HS256"),
    "none": ({"TIM_JWT_ALGORITHMS": "none"}, "none"),
    "JWKS from a file": ({"TIM_JWT_JWKS_URL": "file:///etc/passwd"}, "JWKS URL"),
    "unknown mode": ({"TIM_AUTH": "basic"}, "TIM_AUTH"),
}


@pytest.mark.parametrize("changes, mentioned", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_jwt_settings_that_cannot_work_stop_tim_serve_in_one_line(tmp_path, changes, mentioned):
    env = jwt_environment("https://idp.tim.test/jwks.json") | changes
    result = run_tim(["serve", "--data-dir", str(tmp_path / "data")], env, tmp_path)
    assert result.returncode == 2, result
    assert len(result.stderr.splitlines()) == 1 and mentioned in result.stderr, result.stderr
