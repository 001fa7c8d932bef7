"""Who may do what: scopes, principals, and API token values.

A scope includes the ones below it (admin > write > read). A principal is an
authenticated caller: its name is what `created_by` records. API token
secrets carry 256 random bits, so a single fast SHA-256 is the right hash to
keep (a slow password hash protects guessable secrets; these are not), and
only that hash is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from enum import IntEnum

from attrs import frozen

from tim.domain.model.errors import Conflict, InvalidInput, TimError
from tim.domain.model.fields import require_text

TOKEN_PREFIX = "tim_"
# token_urlsafe(32): 32 random bytes as 43 base64url characters.
_TOKEN_SECRET = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")
# Grants in a JWT that name a tim scope: the bare name, or with a `tim:` or
# `tim/` prefix (`tim/write` is how a Cognito resource server named `tim`
# spells its scopes in access tokens).
_GRANT_PREFIXES = ("", "tim:", "tim/")


class Unauthenticated(TimError):
    """No credential, or one that proves nothing (unknown, expired, forged)."""

    def __init__(self, message: str, *, credential_given: bool):
        super().__init__(message)
        self.credential_given = credential_given


class InsufficientScope(TimError):
    """A known caller whose scope does not include the one needed."""

    def __init__(self, principal: Principal, needed: Scope):
        has = "no tim scope" if principal.scope is None else f"the {principal.scope.label} scope"
        super().__init__(f"{principal.name!r} has {has}; this needs {needed.label}")
        self.needed = needed


class TokenNameTaken(Conflict):
    def __init__(self, name: str):
        super().__init__(f"a token named {name!r} exists already; revoke it first to replace it")
        self.name = name


class AuthenticationUnavailable(TimError):
    """The service that vouches for credentials (an identity provider's key
    set) cannot be reached; retry later."""


class Scope(IntEnum):
    READ = 1  # list, get, search, download URLs
    WRITE = 2  # also create, upload, tag, rename, delete
    ADMIN = 3  # also manage API tokens

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object, field: str = "scope") -> Scope:
        text = require_text(field, value).strip().lower()
        for scope in cls:
            if scope.label == text:
                return scope
        raise InvalidInput.of(field, "must be read, write or admin")

    @classmethod
    def granted_by(cls, grants: Iterable[str]) -> Scope | None:
        """The largest scope that the grants of a JWT name (see _GRANT_PREFIXES);
        None when they name none. Grants are compared exactly: `Write` or
        `orders/write` grant nothing."""
        named = [scope for grant in grants for scope in cls if grant in {p + scope.label for p in _GRANT_PREFIXES}]
        return max(named, default=None)

    def includes(self, other: Scope) -> bool:
        return self >= other


@frozen
class Principal:
    """An authenticated caller. `scope` None: known, but granted nothing."""

    name: str
    scope: Scope | None

    def require(self, needed: Scope) -> None:
        if self.scope is None or not self.scope.includes(needed):
            raise InsufficientScope(self, needed)


@frozen
class ApiToken:
    """What may be shown about a token: never its secret or hash. Its name is
    the principal it authenticates (so it is what `created_by` records)."""

    name: str
    scope: Scope
    created_timestamp: int


@frozen
class StoredToken:
    """A token as repositories keep it: the SHA-256 digest of the secret."""

    token: ApiToken
    digest: bytes


def new_token_secret() -> str:
    """`tim_` and 256 random bits: recognisable in logs and by secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token_secret(secret: str) -> bool:
    return _TOKEN_SECRET.fullmatch(secret) is not None


def token_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def same_digest(stored: bytes, presented: bytes) -> bool:
    """Constant-time over bytes, so timing tells nothing about how much matched."""
    return hmac.compare_digest(stored, presented)
