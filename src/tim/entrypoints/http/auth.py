"""Authentication and scope checks for the API's operations.

Each operation declares the scope it needs (api.py: READ to read, WRITE to
change anything); before it runs, the caller's credential is checked and
its scope must include that one. Only `Authorization: Bearer ...` carries
a credential, never a query string or a cookie (those end up in logs,
histories and Referer headers). Public: the signed blob URLs, whose
signature is their credential, and the OpenAPI document, which only
describes the API.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tim.domain.model.access import Principal, Scope, Unauthenticated
from tim.domain.use_cases.tokens import OpenAccess
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.context import authenticator

# Longer than any token tim issues and than usual identity provider JWTs;
# a longer header is refused before any work is spent on it.
MAX_AUTHORIZATION_LENGTH = 8192


def bearer_credential(request: Request) -> str | None:
    """The bearer token sent, None when no Authorization header came.
    Raises HTTPException (400) for a request that is malformed rather than
    unauthenticated, and Unauthenticated for another scheme."""
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise HTTPException(400, "send one Authorization header, not several")
    value = values[0]
    if len(value) > MAX_AUTHORIZATION_LENGTH:
        raise HTTPException(400, f"the Authorization header must be at most {MAX_AUTHORIZATION_LENGTH} characters")
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("use Authorization: Bearer <token>; no other scheme is accepted", credential_given=False)
    credential = credential.strip()
    if not credential:
        raise Unauthenticated("the bearer token is empty", credential_given=True)
    return credential


async def authorize(request: Request, needed: Scope) -> Principal:
    """The caller, once authenticated and allowed `needed`; noted for the
    access log. The authenticator may do I/O, so it runs in the threadpool."""
    checker = authenticator(request)
    if isinstance(checker, OpenAccess):  # credentials are not looked at, malformed or not
        principal = checker.principal
    else:
        principal = await run_in_threadpool(checker.authenticate, bearer_credential(request))
    note(request).principal = principal
    principal.require(needed)
    return principal

