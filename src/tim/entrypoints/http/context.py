"""What endpoints take from the running app: the ImageManager opened by the
lifespan, the HTTP options, and the caller's identity."""

from __future__ import annotations

from attrs import frozen
from starlette.requests import Request

from tim.domain.use_cases.manager import ImageManager
from tim.entrypoints.configuration import DEFAULT_MAX_INLINE_UPLOAD_BYTES, DEFAULT_USER


@frozen(kw_only=True)
class HttpOptions:
    """Options of the HTTP entrypoint itself (the core ones are in bootstrap.Config)."""

    default_user: str = DEFAULT_USER
    # Largest request body accepted by POST /upload and by every JSON route.
    max_body_bytes: int = DEFAULT_MAX_INLINE_UPLOAD_BYTES


def manager(request: Request) -> ImageManager:
    found = getattr(request.app.state, "manager", None)
    if found is None:
        raise RuntimeError(
            "tim's lifespan has not run: an app that mounts tim must enter "
            "`tim_app.router.lifespan_context(tim_app)` in its own lifespan"
        )
    return found


def options(request: Request) -> HttpOptions:
    return request.app.state.options


def caller(request: Request) -> str:
    """The identity recorded as created_by. The one place that decides it:
    for now the configured default user, until authentication arrives."""
    return options(request).default_user
