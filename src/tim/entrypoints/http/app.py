"""The v1 HTTP API as a Starlette app.

    app = create_app(Config(database_url="sqlite:///tim.db", blobstore_url="file:///srv/tim-files"))

The ImageManager is built in the app's lifespan and closed when it ends.
Another ASGI app may mount this one; Starlette does not run a mounted app's
lifespan, so the host enters it from its own:

    tim_app = create_app(config)

    @asynccontextmanager
    async def lifespan(app):
        async with tim_app.router.lifespan_context(tim_app):
            yield

    host = Starlette(routes=[Mount("/images-service", tim_app)], lifespan=lifespan)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Route

from tim.domain.model.images import parse_principal
from tim.domain.use_cases.manager import ImageManager
from tim.domain.use_cases.tokens import OpenAccess
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import BLOB_ROUTE, Config, build_authenticator, build_manager
from tim.entrypoints.http.access_log import AccessLogMiddleware, AccessLogSink
from tim.entrypoints.http.blobs import Blob
from tim.entrypoints.http.context import HttpOptions
from tim.entrypoints.http.errors import EXCEPTION_HANDLERS
from tim.entrypoints.http.responses import ImageJson
from tim.entrypoints.http.export import ImageExport
from tim.entrypoints.http.history import History, ImageHistory
from tim.entrypoints.http.images import Image, ImageCompletion, Images, ImagesTags, ImageTags, Upload
from tim.entrypoints.http.openapi import OpenApiDocument
from tim.entrypoints.http.pacing import BodyFloor
from tim.entrypoints.http.search import ImageSearch
from tim.entrypoints.http.sweeping import DEFAULT_SWEEP_INTERVAL_SECONDS, sweep_temporaries_every
from tim.entrypoints.http.tags import Tag, TagAlias, TagCollisions, TagImages, TagMerge, Tags
from tim.ports.access import Authenticator

V1 = "/v1"

# Fixed paths before the templates that would take them for an id.
ROUTES = [
    Route(f"{V1}/images", Images),
    Route(f"{V1}/images/tags", ImagesTags),
    Route(f"{V1}/images/{{image_id}}", Image),
    Route(f"{V1}/images/{{image_id}}/tags", ImageTags),
    Route(f"{V1}/images/{{image_id}}/history", ImageHistory),
    Route(f"{V1}/images/{{image_id}}/complete", ImageCompletion),
    Route(f"{V1}/upload", Upload),
    Route(f"{V1}/tags", Tags),
    Route(f"{V1}/tags/collisions", TagCollisions),
    Route(f"{V1}/tags/{{tag_id}}", Tag),
    Route(f"{V1}/tags/{{tag_id}}/images", TagImages),
    Route(f"{V1}/tags/{{tag_id}}/merge", TagMerge),
    # An alias may hold a `/` (sent as %2F, which the server decodes).
    Route(f"{V1}/tags/{{tag_id}}/aliases/{{name:path}}", TagAlias),
    Route(f"{V1}/search/images", ImageSearch),
    Route(f"{V1}/export/images", ImageExport),
    Route(f"{V1}/history", History),
    Route(f"{BLOB_ROUTE}/{{key}}", Blob),
    Route(f"{V1}/openapi.json", OpenApiDocument),
]


def create_app(
    manager: Config | Callable[[], ImageManager],
    *,
    default_user: str = configuration.DEFAULT_USER,
    max_inline_upload_bytes: int = configuration.DEFAULT_MAX_INLINE_UPLOAD_BYTES,
    authenticator: Callable[[], Authenticator] | None = None,
    access_log: AccessLogSink | None = None,
    body_floor: BodyFloor = BodyFloor(),
    sweep_interval_seconds: float = DEFAULT_SWEEP_INTERVAL_SECONDS,
) -> Starlette:
    """The app, serving an ImageManager built from `manager` (a Config, or
    a function that builds one) for as long as the app's lifespan lasts.
    `authenticator` builds what checks callers (by default none is checked:
    every caller is `default_user`, with every scope); `access_log` is
    where each request's line goes (by default stderr, as text);
    `body_floor` the slowest a request body may arrive before it is given
    up with 408; every `sweep_interval_seconds` the half-written files of
    uploads that a crash interrupted are removed (see sweeping)."""
    parse_principal(default_user)  # fail now, not on every request
    build = (lambda: build_manager(manager)) if isinstance(manager, Config) else manager
    open_authenticator = authenticator or (lambda: OpenAccess.as_user(default_user))
    sink = access_log or AccessLogSink()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Opened in order, closed in reverse, whichever step fails.
        async with AsyncExitStack() as opened:
            sink.open()
            opened.callback(sink.close)
            manager = await run_in_threadpool(build)
            app.state.manager = manager
            opened.push_async_callback(_closing, app.state, "manager")
            # Built now rather than by the first search, which would wait for it.
            await run_in_threadpool(manager.refresh_index)
            app.state.authenticator = await run_in_threadpool(open_authenticator)
            opened.push_async_callback(_closing, app.state, "authenticator")
            background = await opened.enter_async_context(anyio.create_task_group())
            opened.callback(background.cancel_scope.cancel)  # first thing on the way out
            background.start_soon(sweep_temporaries_every, sweep_interval_seconds, app.state.manager)
            yield

    app = Starlette(
        routes=ROUTES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        middleware=[Middleware(AccessLogMiddleware, sink=sink)],
    )
    # A trailing slash names no route (404), rather than a redirect.
    app.router.redirect_slashes = False
    app.state.options = HttpOptions(
        default_user=default_user, max_body_bytes=max_inline_upload_bytes, body_floor=body_floor
    )
    app.state.manager = None
    app.state.authenticator = None
    app.state.image_json = ImageJson()
    return app


async def _closing(state: State, name: str) -> None:
    """Take a resource off the app's state (requests then learn that tim is
    not running), then close it."""
    resource = getattr(state, name)
    setattr(state, name, None)
    await run_in_threadpool(resource.close)


def app_from_environment() -> Starlette:
    """The app configured by TIM_* environment variables: the factory that
    `tim serve` gives uvicorn (one call per worker process)."""
    settings = configuration.from_environment(os.environ)
    configuration.ensure_data_dir(settings)
    return create_app(
        settings.core,
        default_user=settings.default_user,
        max_inline_upload_bytes=settings.max_inline_upload_bytes,
        authenticator=lambda: build_authenticator(
            settings.auth, database_url=settings.core.database_url, default_user=settings.default_user
        ),
        access_log=AccessLogSink(settings.access_log, settings.access_log_format),
    )
