"""Who is calling: API tokens kept by tim, and whatever checks a credential."""

from __future__ import annotations

from typing import Protocol

from tim.domain.model.access import Principal, StoredToken


class TokenRepository(Protocol):
    """API tokens, by name; each method is one transaction."""

    def add_token(self, token: StoredToken) -> None:
        """Raises TokenNameTaken if a token has this name (case-sensitive)."""

    def find_token(self, digest: bytes) -> StoredToken | None:
        """The token whose secret has this SHA-256 digest."""

    def list_tokens(self) -> list[StoredToken]:
        """Every token, by name (code point order)."""

    def delete_token(self, name: str) -> bool:
        """Remove a token; False if there was none of that name."""

    def close(self) -> None: ...


class Authenticator(Protocol):
    """Turns the credential a request carried into a Principal."""

    def authenticate(self, credential: str | None) -> Principal:
        """`credential` is the bearer token as sent, None when none was.
        Raises Unauthenticated, or AuthenticationUnavailable when the
        credential cannot be checked right now. May block (I/O)."""

    def close(self) -> None: ...
