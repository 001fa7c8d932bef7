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
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from tim.domain.model.images import parse_principal
from tim.domain.use_cases.manager import ImageManager
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import BLOB_ROUTE, Config, build_manager
from tim.entrypoints.http.blobs import Blob
from tim.entrypoints.http.context import HttpOptions
from tim.entrypoints.http.errors import EXCEPTION_HANDLERS
from tim.entrypoints.http.images import Image, ImageCompletion, Images, Upload
from tim.entrypoints.http.openapi import OpenApiDocument
from tim.entrypoints.http.search import ImageSearch
from tim.entrypoints.http.tags import Tag, TagImages, Tags

V1 = "/v1"

ROUTES = [
    Route(f"{V1}/images", Images),
    Route(f"{V1}/images/{{image_id}}", Image),
    Route(f"{V1}/images/{{image_id}}/complete", ImageCompletion),
    Route(f"{V1}/upload", Upload),
    Route(f"{V1}/tags", Tags),
    Route(f"{V1}/tags/{{tag_id}}", Tag),
    Route(f"{V1}/tags/{{tag_id}}/images", TagImages),
    Route(f"{V1}/search/images", ImageSearch),
    Route(f"{BLOB_ROUTE}/{{key}}", Blob),
    Route(f"{V1}/openapi.json", OpenApiDocument),
]


def create_app(
    manager: Config | Callable[[], ImageManager],
    *,
    default_user: str = configuration.DEFAULT_USER,
    max_inline_upload_bytes: int = configuration.DEFAULT_MAX_INLINE_UPLOAD_BYTES,
) -> Starlette:
    """The app, serving an ImageManager built from `manager` (a Config, or
    a function that builds one) for as long as the app's lifespan lasts."""
    parse_principal(default_user)  # fail now, not on every request
    build = (lambda: build_manager(manager)) if isinstance(manager, Config) else manager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.manager = await run_in_threadpool(build)
        try:
            yield
        finally:
            opened, app.state.manager = app.state.manager, None
            await run_in_threadpool(opened.close)

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    # A trailing slash names no route (404), rather than a redirect.
    app.router.redirect_slashes = False
    app.state.options = HttpOptions(default_user=default_user, max_body_bytes=max_inline_upload_bytes)
    app.state.manager = None
    return app


def app_from_environment() -> Starlette:
    """The app configured by TIM_* environment variables: the factory that
    `tim serve` gives uvicorn (one call per worker process)."""
    settings = configuration.from_environment(os.environ)
    configuration.ensure_data_dir(settings.data_dir)
    return create_app(
        settings.core,
        default_user=settings.default_user,
        max_inline_upload_bytes=settings.max_inline_upload_bytes,
    )
