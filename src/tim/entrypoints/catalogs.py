"""Where `tim import` and `tim export` put and find images: the local stores
(an ImageManager built from the TIM_* settings, as `tim serve` builds it)
or a running server (its v1 API over HTTP, files through signed URLs).

Both speak in the API's JSON shapes (records as dicts), so the commands
above them do not care which one they have. Listings follow the pages'
cursors, so images added or deleted meanwhile shift nothing: each match is
listed once.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from tim.domain.model.errors import TimError, UploadIncomplete
from tim.domain.model.paging import MAX_PAGE_SIZE
from tim.domain.use_cases.manager import ImageManager
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import MEMORY, ConfigError, build_manager
from tim.entrypoints.shapes import image_json

CHUNK = 1024 * 1024
TOKEN_VARIABLE = "TIM_TOKEN"
HTTP_TIMEOUT_SECONDS = 300


# The search parameters that name tags: with any of them a listing is a search.
TAG_TERMS = ("exact_tags", "match_tags", "any_tags", "exclude_tags", "exclude_match_tags", "untagged")


def is_search(filters: Mapping[str, Any]) -> bool:
    return any(filters.get(name) for name in TAG_TERMS)


def given(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value is not None}


class CatalogError(Exception):
    """What the catalog said about one file; the run goes on."""


class Catalog(Protocol):
    max_image_bytes: int | None

    def with_sha256(self, sha256: str) -> list[dict[str, Any]]:
        """Records of these bytes: stored ones, and pending uploads that declared them."""

    def add(self, path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        """Store the file at `path` and its record; the record. Raises CatalogError."""

    def finish(self, pending: Mapping[str, Any], path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        """Finish a pending upload of these bytes left by an interrupted run:
        confirm it if the file arrived, else upload it again."""

    def records(self, filters: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(total matching, record) for every record the filters select, newest first."""

    def open_file(self, record: Mapping[str, Any]) -> Iterator[bytes]:
        """The stored file of a record, in chunks."""

    def close(self) -> None: ...


def file_chunks(file: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: file.read(CHUNK), b"")


class LocalCatalog:
    """The stores themselves: a file is stored first, then its record (one
    step), so an interrupted import leaves no pending record behind."""

    def __init__(self, manager: ImageManager, created_by: str):
        self._manager = manager
        self._created_by = created_by
        self.max_image_bytes: int | None = manager.settings.max_image_bytes

    def with_sha256(self, sha256: str) -> list[dict[str, Any]]:
        return [image_json(image) for image in self._manager.list_images(sha256=sha256).results]

    def add(self, path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        try:
            with path.open("rb") as file:
                image = self._manager.upload_image(
                    created_by=self._created_by, filename=filename, data=file_chunks(file), size=size, tags=tags, sha256=sha256
                )
        except TimError as error:
            raise CatalogError(error.message) from None
        return image_json(image)

    def finish(self, pending: Mapping[str, Any], path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        try:
            try:
                return image_json(self._manager.complete_upload(pending["id"]))
            except UploadIncomplete:
                with path.open("rb") as file:
                    return image_json(self._manager.upload_file(pending["id"], file_chunks(file)))
        except TimError as error:
            raise CatalogError(error.message) from None

    def records(self, filters: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        find = self._manager.search_images if is_search(filters) else self._manager.list_images
        cursor = None
        while True:
            found = find(limit=MAX_PAGE_SIZE, cursor=cursor, **given(filters))
            for image in found.results:
                yield found.total_results, image_json(image)
            if found.next_cursor is None:
                return
            cursor = found.next_cursor

    def open_file(self, record: Mapping[str, Any]) -> Iterator[bytes]:
        return self._manager.read_file(record["id"]).chunks

    def close(self) -> None:
        self._manager.close()


class RemoteCatalog:
    """A running tim, through its v1 API: records are made with the file's
    declared SHA-256, the bytes go to the signed upload URL (straight to S3
    when the server stores files there), then the upload is confirmed."""

    def __init__(self, base_url: str, token: str | None):
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.max_image_bytes: int | None = None  # the server says so, per file

    def with_sha256(self, sha256: str) -> list[dict[str, Any]]:
        return self._json("GET", "/images", params={"sha256": sha256, "limit": MAX_PAGE_SIZE})["results"]

    def add(self, path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        created = self._json("POST", "/images", {"filename": filename, "size": size, "tags": tags, "sha256": sha256})
        self._put(path, size, created["upload_url"], created.get("upload_headers") or {})
        return self._json("POST", f"/images/{created['id']}/complete")

    def finish(self, pending: Mapping[str, Any], path: Path, *, filename: str, size: int, sha256: str, tags: list[str]) -> dict[str, Any]:
        try:
            return self._json("POST", f"/images/{pending['id']}/complete")
        except CatalogError:
            # The bytes never arrived, and its upload URL is gone with the
            # interrupted run: a new record takes its place.
            self._json("DELETE", f"/images/{pending['id']}")
            return self.add(path, filename=filename, size=size, sha256=sha256, tags=tags)

    def records(self, filters: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        route = "/search/images" if is_search(filters) else "/images"
        params = given(filters) | {"limit": MAX_PAGE_SIZE}
        while True:
            found = self._json("GET", route, params=params)
            for record in found["results"]:
                yield found["meta"]["total_results"], record
            if found["meta"]["next_cursor"] is None:
                return
            params["cursor"] = found["meta"]["next_cursor"]

    def open_file(self, record: Mapping[str, Any]) -> Iterator[bytes]:
        url = record.get("url") or self._json("GET", f"/images/{record['id']}")["url"]
        response = self._open(urllib.request.Request(url))
        with response:
            yield from iter(lambda: response.read(CHUNK), b"")

    def close(self) -> None:
        pass

    def _put(self, path: Path, size: int, url: str, headers: Mapping[str, str]) -> None:
        with path.open("rb") as file:
            request = urllib.request.Request(
                url, data=file, method="PUT", headers={"Content-Length": str(size), "Content-Type": "application/octet-stream", **headers}
            )
            self._open(request).close()

    def _json(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        url = self._base + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        data = None if body is None else json.dumps(body).encode()
        headers = self._headers | ({"Content-Type": "application/json"} if data is not None else {})
        with self._open(urllib.request.Request(url, data=data, method=method, headers=headers)) as response:
            text = response.read()
        return json.loads(text) if text else None

    def _open(self, request: urllib.request.Request) -> Any:
        try:
            return urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS)  # noqa: S310 - the operator's URL
        except urllib.error.HTTPError as error:
            raise CatalogError(_said(error)) from None
        except (urllib.error.URLError, OSError) as error:
            raise CatalogError(f"cannot reach {urllib.parse.urlsplit(request.full_url).netloc}: {error}") from None


def _said(error: urllib.error.HTTPError) -> str:
    """The {code, message} of a tim error, or the status of anything else."""
    try:
        body = json.loads(error.read() or b"{}")
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return f"{error.code}: {message or error.reason}"


def add_remote_options(command: argparse.ArgumentParser) -> None:
    """Where a command's catalog is: --url (and --token), or the local stores."""
    command.add_argument("--url", help="a running tim's API, e.g. https://tim.example.com/v1 (default: the local stores)")
    command.add_argument("--token", help=f"with --url: a bearer token (default ${TOKEN_VARIABLE})")
    command.add_argument("--data-dir", help="without --url: as for `tim serve`")


def open_catalog(url: str | None, token: str | None, data_dir: str | None) -> Catalog:
    """A running tim at `url`, or the local stores of the TIM_* settings
    (as `tim serve` would open them, with TIM_DEFAULT_USER as the creator)."""
    if url:
        return RemoteCatalog(url, token or os.environ.get(TOKEN_VARIABLE))
    settings = configuration.from_environment(os.environ, data_dir=data_dir)
    if MEMORY in (settings.core.database_url, settings.core.blobstore_url):
        raise ConfigError("memory: stores live inside one process: set TIM_DATABASE_URL and TIM_BLOBSTORE_URL, or use --url")
    configuration.ensure_data_dir(settings)
    return LocalCatalog(build_manager(settings.core), settings.default_user)
