"""The JWT authenticator against a real JWKS endpoint: key caching, rotation
(a refetch for an unknown key id, at most once per cooldown), an identity
provider that is down, and claims mapped to principals."""

import pytest

from jwks_server import AUDIENCE, ISSUER, SigningKey, claims, serving_jwks
from tim.adapters.jwt.authenticator import JwtAuthenticator, JwtSettings
from tim.domain.model.access import AuthenticationUnavailable, Principal, Scope, Unauthenticated


@pytest.fixture(scope="module")
def keys():
    return SigningKey("key-1"), SigningKey("key-2")


def authenticator(url, **settings):
    return JwtAuthenticator(JwtSettings(jwks_url=url, issuer=ISSUER, audience=AUDIENCE, **settings))


def test_the_key_set_is_fetched_once_and_cached(keys):
    first, _ = keys
    with serving_jwks(first) as jwks:
        auth = authenticator(jwks.url)
        for name in ["ana", "bob", "eve"]:
            assert auth.authenticate(first.sign(claims(sub=name, scope="read"))) == Principal(name, Scope.READ)
        assert jwks.fetches == 1


def test_a_rotated_key_is_fetched_when_a_token_names_it(keys):
    old, new = keys
    with serving_jwks(old) as jwks:
        auth = authenticator(jwks.url, refresh_cooldown_seconds=0)
        assert auth.authenticate(old.sign(claims())).name == "ana"
        with pytest.raises(Unauthenticated, match="no key 'key-2'"):
            auth.authenticate(new.sign(claims()))
        jwks.keys = [old, new]  # the identity provider publishes its new key
        assert auth.authenticate(new.sign(claims(sub="bob"))) == Principal("bob", Scope.WRITE)


def test_unknown_key_ids_refetch_at_most_once_per_cooldown(keys):
    first, _ = keys
    with serving_jwks(first) as jwks:
        auth = authenticator(jwks.url, refresh_cooldown_seconds=3600)
        auth.authenticate(first.sign(claims()))
        for kid in ["made-up-1", "made-up-2", "made-up-3"]:
            with pytest.raises(Unauthenticated):
                auth.authenticate(first.sign(claims(), kid=kid))
        assert jwks.fetches == 1


def test_an_identity_provider_that_is_down_is_unavailable_not_a_bad_token(keys):
    first, _ = keys
    with serving_jwks(first) as jwks:
        url = jwks.url
    auth = authenticator(url)  # nothing listens there any more
    with pytest.raises(AuthenticationUnavailable):
        auth.authenticate(first.sign(claims()))


def test_claims_map_to_a_principal(keys):
    first, _ = keys
    with serving_jwks(first) as jwks:
        cognito = authenticator(jwks.url, user_claim="username", audience_claim="client_id", scope_claim="scope")
        access_token = claims(scope="openid tim/admin", username="ana@example.com", client_id=AUDIENCE)
        del access_token["aud"]  # Cognito access tokens carry client_id, not aud
        assert cognito.authenticate(first.sign(access_token)) == Principal("ana@example.com", Scope.ADMIN)
        with pytest.raises(Unauthenticated, match="'client_id' claim"):
            cognito.authenticate(first.sign(access_token | {"client_id": "another-app"}))
        with pytest.raises(Unauthenticated, match="'username' claim"):
            cognito.authenticate(first.sign(claims(client_id=AUDIENCE)))  # an ID-less token: no username

        groups = authenticator(jwks.url, scope_claim="cognito:groups")
        assert groups.authenticate(first.sign(claims(**{"cognito:groups": ["staff", "tim:read"]}))).scope is Scope.READ
        assert groups.authenticate(first.sign(claims(**{"cognito:groups": "staff"}))).scope is None
        assert groups.authenticate(first.sign(claims(**{"cognito:groups": 7}))).scope is None

        plain = authenticator(jwks.url)
        for bad_name in ["", "tab\there", 42, "x" * 256]:
            with pytest.raises(Unauthenticated, match="'sub' claim"):
                plain.authenticate(first.sign(claims(sub=bad_name)))


@pytest.mark.parametrize("algorithms", [(), ("HS256",), ("RS256", "none"), ("rs256",)])
def test_only_asymmetric_algorithms_can_be_configured(algorithms):
    with pytest.raises(ValueError, match="algorithms must be among"):
        JwtSettings(jwks_url="https://idp.test/jwks", issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


def test_a_jwks_url_must_be_http():
    with pytest.raises(ValueError, match="JWKS URL"):
        authenticator("file:///etc/passwd")
