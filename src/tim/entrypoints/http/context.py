"""What endpoints take from the running app: the ImageManager and the
Authenticator opened by the lifespan, the HTTP options, and the caller's
identity."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from attrs import frozen
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from tim.domain.model.errors import TimError
from tim.domain.use_cases.manager import ImageManager
from tim.entrypoints.http.access_log import note
from tim.entrypoints.http.responses import ImageJson
from tim.entrypoints.http.pacing import BodyFloor
from tim.ports.access import Authenticator
from tim.entrypoints.configuration import DEFAULT_MAX_INLINE_UPLOAD_BYTES, DEFAULT_USER

T = TypeVar("T")


@frozen(kw_only=True)
class HttpOptions:
    """Options of the HTTP entrypoint itself (the core ones are in bootstrap.Config)."""

    default_user: str = DEFAULT_USER
    # Largest request body accepted by POST /upload and by every JSON route.
    max_body_bytes: int = DEFAULT_MAX_INLINE_UPLOAD_BYTES
    # The slowest any request body may arrive (see pacing).
    body_floor: BodyFloor = BodyFloor()


def manager(request: Request) -> ImageManager:
    found = getattr(request.app.state, "manager", None)
    if found is None:
        raise RuntimeError(
            "tim's lifespan has not run: an app that mounts tim must enter "
            "`tim_app.router.lifespan_context(tim_app)` in its own lifespan"
        )
    return found


def image_json(request: Request) -> ImageJson:
    """How this app writes image records (remembering what it wrote)."""
    return request.app.state.image_json


def options(request: Request) -> HttpOptions:
    return request.app.state.options


def authenticator(request: Request) -> Authenticator:
    found = getattr(request.app.state, "authenticator", None)
    if found is None:
        manager(request)  # explains a lifespan that has not run
        raise RuntimeError("tim's authenticator is missing")
    return found


def caller(request: Request) -> str:
    """The identity recorded as created_by. The one place that decides it:
    the principal that `auth.authorize` established for this request."""
    principal = note(request).principal
    if principal is None:
        raise RuntimeError(f"{request.url.path} is a public operation: it has no caller")
    return principal.name


async def read(request: Request, use_case: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a reading use case: where it is asked for when the repository's
    reads are local (quick; and one at a time on the event loop beats
    threads taking turns at Python's lock, measured in
    benchmarks/http_api.py), else in the threadpool, where waiting on the
    database blocks no one. There, a client that goes away stops the work:
    the database statement under way is interrupted."""
    repository = manager(request).repository
    if repository.reads_are_local:
        return use_case(*args, **kwargs)
    worker: list[int] = []

    def work() -> T:
        worker.append(threading.get_ident())
        return use_case(*args, **kwargs)

    gone = False

    async def interrupt_when_gone() -> None:
        nonlocal gone
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone = True
        if worker:
            await run_in_threadpool(repository.interrupt, worker[0])

    try:
        async with anyio.create_task_group() as watching:
            watching.start_soon(interrupt_when_gone)
            try:
                return await run_in_threadpool(work)
            finally:
                watching.cancel_scope.cancel()
    except* Exception as failed:  # the task group wraps what the work raised
        error = failed.exceptions[0]
        if gone and isinstance(error, TimError):
            raise ClientDisconnect() from None
        raise error from None
