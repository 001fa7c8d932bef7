"""Use cases for API tokens: create, list, revoke, and authenticate by secret;
and the open access of a service that checks no credentials."""

from __future__ import annotations

from attrs import define, frozen

from tim.domain.model.access import (
    ApiToken,
    Principal,
    Scope,
    StoredToken,
    Unauthenticated,
    looks_like_token_secret,
    new_token_secret,
    same_digest,
    token_digest,
)
from tim.domain.model.errors import NotFound
from tim.domain.model.images import parse_principal
from tim.ports.access import TokenRepository
from tim.ports.clock import Clock


@frozen
class IssuedToken:
    """A new token and its secret, which is shown this once and never again."""

    token: ApiToken
    secret: str


@define(kw_only=True)
class TokenManager:
    """API tokens kept by tim; also the Authenticator of `TIM_AUTH=tokens`."""

    tokens: TokenRepository
    clock: Clock

    def create_token(self, name: object, *, scope: object) -> IssuedToken:
        """A token for the principal `name` (what `created_by` will record).
        Raises TokenNameTaken if the name is in use."""
        token = ApiToken(parse_principal(name, "name"), Scope.parse(scope), self.clock.now())
        secret = new_token_secret()
        self.tokens.add_token(StoredToken(token, token_digest(secret)))
        return IssuedToken(token, secret)

    def list_tokens(self) -> list[ApiToken]:
        """Every token by name, without secrets."""
        return [stored.token for stored in self.tokens.list_tokens()]

    def revoke_token(self, name: object) -> None:
        """The token stops working at once. Raises NotFound."""
        if not self.tokens.delete_token(parse_principal(name, "name")):
            raise NotFound(f"there is no token named {name!r}")

    def authenticate(self, credential: str | None) -> Principal:
        if not credential:
            raise Unauthenticated("this needs an API token: Authorization: Bearer tim_...", credential_given=False)
        invalid = Unauthenticated("the API token is not valid (unknown, revoked or mistyped)", credential_given=True)
        if not looks_like_token_secret(credential):
            raise invalid
        digest = token_digest(credential)
        stored = self.tokens.find_token(digest)
        # The store found it by digest; comparing again in constant time
        # keeps any store's lookup (an index, a dict) from being the only check.
        if stored is None or not same_digest(stored.digest, digest):
            raise invalid
        return Principal(stored.token.name, stored.token.scope)

    def close(self) -> None:
        self.tokens.close()


@frozen
class OpenAccess:
    """`TIM_AUTH=none`: every caller is the one configured principal, with
    every scope. Credentials are not looked at."""

    principal: Principal

    @classmethod
    def as_user(cls, name: object) -> OpenAccess:
        return cls(Principal(parse_principal(name, "default_user"), Scope.ADMIN))

    def authenticate(self, credential: str | None) -> Principal:
        return self.principal

    def close(self) -> None:
        pass
