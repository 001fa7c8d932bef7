"""Bearer JWTs checked against an identity provider's JWKS (OpenID Connect,
e.g. an AWS Cognito user pool), with PyJWT.

What a token must pass, in order: a header naming one of the configured
asymmetric algorithms (so `none` and HMAC never reach a key) and a key id;
a key of that id from the JWKS, of the family the algorithm needs; a valid
signature; `exp` in the future, `iss` equal to the issuer, the audience
claim equal to the audience (`aud`, or `client_id` for Cognito access
tokens, which carry no `aud`); a user claim that is a valid principal name.
The scope comes from the scope claim's grants (Scope.granted_by).

PyJWKClient caches the key set and fetches it again when a token names a
key id it does not know (a rotation), at most once per cooldown, so tokens
with made-up key ids cannot make tim hammer the identity provider.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import jwt
from attrs import field, frozen
from jwt.exceptions import (
    InvalidSubjectError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKSetError,
    PyJWTError,
)

from tim.domain.model.access import (
    AuthenticationUnavailable,
    Principal,
    Scope,
    Unauthenticated,
)
from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import parse_principal

log = logging.getLogger(__name__)

# Asymmetric algorithms only: with a public key set, an HMAC "signature"
# could be made by anyone who has the (public) key.
KEY_TYPES = {
    **{f"{family}{bits}": "RSA" for family in ("RS", "PS") for bits in (256, 384, 512)},
    **{f"ES{bits}": "EC" for bits in (256, 384, 512)},
    "EdDSA": "OKP",
}
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
MAX_TOKEN_LENGTH = 16_384


@frozen(kw_only=True)
class JwtSettings:
    jwks_url: str
    issuer: str
    audience: str
    audience_claim: str = "aud"
    algorithms: tuple[str, ...] = field(default=("RS256",), converter=tuple)
    user_claim: str = "sub"
    scope_claim: str = "scope"
    jwks_cache_seconds: float = 300
    # Least time between two fetches of the key set for unknown key ids.
    refresh_cooldown_seconds: float = 30
    fetch_timeout_seconds: float = 10

    @algorithms.validator
    def _asymmetric(self, attribute: Any, value: Sequence[str]) -> None:
        refused = [name for name in value if name not in KEY_TYPES]
        if not value or refused:
            raise ValueError(
                f"algorithms must be among {', '.join(KEY_TYPES)}"
                + (f", not {', '.join(refused)}" if refused else "")
            )


@frozen
class JwtAuthenticator:
    """The Authenticator of `TIM_AUTH=jwt`."""

    settings: JwtSettings
    _keys: jwt.PyJWKClient = field(init=False)

    @_keys.default
    def _client(self) -> jwt.PyJWKClient:
        try:
            return jwt.PyJWKClient(
                self.settings.jwks_url,
                cache_jwk_set=True,
                lifespan=self.settings.jwks_cache_seconds,
                timeout=self.settings.fetch_timeout_seconds,
                cooldown_duration=self.settings.refresh_cooldown_seconds,
            )
        except PyJWKClientError as error:  # e.g. a JWKS URL that is not http(s)
            raise ValueError(f"the JWKS URL: {error}") from None

    def authenticate(self, credential: str | None) -> Principal:
        if not credential:
            raise Unauthenticated("this needs a bearer token (a JWT from the identity provider)", credential_given=False)
        claims = self._verified_claims(credential)
        try:
            name = parse_principal(claims.get(self.settings.user_claim), self.settings.user_claim)
        except InvalidInput as error:
            raise _invalid(f"its {self.settings.user_claim!r} claim {error.problems[0].message}") from None
        return Principal(name, Scope.granted_by(_grants(claims.get(self.settings.scope_claim))))

    def close(self) -> None:
        pass

    def _verified_claims(self, token: str) -> dict[str, Any]:
        settings = self.settings
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise _invalid("it is not a JWT")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise _invalid("it is not a JWT") from None
        algorithm, key_id = header.get("alg"), header.get("kid")
        if algorithm not in settings.algorithms:
            raise _invalid(f"its algorithm must be one of {', '.join(settings.algorithms)}")
        if not isinstance(key_id, str):
            raise _invalid("it names no key (kid)")
        key = self._key(key_id)
        if key.key_type != KEY_TYPES[algorithm]:
            raise _invalid(f"key {key_id!r} is not a key for {algorithm}")
        audience_in_aud = settings.audience_claim == "aud"
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=settings.issuer,
                audience=settings.audience if audience_in_aud else None,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", *(["aud"] if audience_in_aud else [])], "verify_aud": audience_in_aud},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("it has expired") from None
        except (PyJWTError, TypeError, ValueError) as error:
            raise _invalid(_reason(error)) from None
        if not audience_in_aud and claims.get(settings.audience_claim) != settings.audience:
            raise _invalid(f"its {settings.audience_claim!r} claim is not this service's audience")
        return claims

    def _key(self, key_id: str) -> jwt.PyJWK:
        try:
            return self._keys.get_signing_key(key_id)
        except (PyJWKClientConnectionError, PyJWKSetError) as error:
            # The details (internal host names, HTTP errors) go to the log, not to the caller.
            log.warning("cannot fetch the JWKS at %s: %s", self.settings.jwks_url, error)
            raise AuthenticationUnavailable("the identity provider's keys cannot be fetched; try again later") from None
        except PyJWKClientError:
            raise _invalid(f"the identity provider has no key {key_id!r}") from None


def _invalid(reason: str) -> Unauthenticated:
    return Unauthenticated(f"the bearer token is not valid: {reason}", credential_given=True)


def _reason(error: Exception) -> str:
    if isinstance(error, jwt.InvalidIssuerError):
        return "it is from another issuer"
    if isinstance(error, jwt.InvalidAudienceError):
        return "it is meant for another audience"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"it lacks the {error.claim!r} claim"
    if isinstance(error, jwt.InvalidSignatureError):
        return "its signature does not verify"
    if isinstance(error, InvalidSubjectError):
        return "its 'sub' claim is not a string"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "it is not valid yet"
    return "it cannot be verified"


def _grants(value: object) -> list[str]:
    """A scope claim: one space-separated string (OAuth's `scope`) or a list
    of strings (`scp`, `cognito:groups`); anything else grants nothing."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [grant for grant in value if isinstance(grant, str)]
    return []
