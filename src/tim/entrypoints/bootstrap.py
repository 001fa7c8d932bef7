"""The composition root: turns configuration into a ready ImageManager.

The only module that picks adapters. Every entrypoint (embedding, HTTP,
CLI) and the tests build tim through `build_manager`.
"""

from __future__ import annotations

import secrets

from attrs import field, frozen, validators

from tim.adapters.clock import SystemClock
from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.signed_urls import UrlSigner
from tim.domain.model.images import DEFAULT_MAX_IMAGE_BYTES
from tim.domain.model.settings import DEFAULT_URL_EXPIRY_SECONDS, Settings
from tim.domain.use_cases.manager import ImageManager
from tim.ports.blob_store import BlobStore
from tim.ports.clock import Clock
from tim.ports.repository import Repository

# Where the HTTP entrypoint serves signed PUTs and GETs for local stores.
BLOB_ROUTE = "/v1/blobs"
MEMORY = "memory:"


class ConfigError(Exception):
    """Configuration that cannot work; the message is one line for a person."""


@frozen(kw_only=True)
class Config:
    database_url: str = MEMORY
    blobstore_url: str = MEMORY
    public_url: str = "http://127.0.0.1:8000"
    secret: str | None = None
    url_expiry_seconds: int = field(default=DEFAULT_URL_EXPIRY_SECONDS, validator=validators.gt(0))
    max_image_bytes: int = field(default=DEFAULT_MAX_IMAGE_BYTES, validator=validators.gt(0))


def build_manager(config: Config, *, clock: Clock | None = None) -> ImageManager:
    repository = open_repository(config.database_url)
    try:
        blobs = open_blob_store(config)
    except BaseException:
        repository.close()
        raise
    return ImageManager(
        repository=repository,
        blobs=blobs,
        clock=clock or SystemClock(),
        settings=Settings(max_image_bytes=config.max_image_bytes, url_expiry_seconds=config.url_expiry_seconds),
    )


def open_repository(url: str) -> Repository:
    if url == MEMORY:
        return MemoryRepository()
    raise ConfigError(f"unsupported database URL {url!r} (expected {MEMORY!r})")


def open_blob_store(config: Config) -> BlobStore:
    url = config.blobstore_url
    if url == MEMORY:
        return MemoryBlobStore(url_signer(config, secret=config.secret))
    raise ConfigError(f"unsupported blob store URL {url!r} (expected {MEMORY!r})")


def url_signer(config: Config, *, secret: str | None) -> UrlSigner:
    """Signs URLs that tim serves itself; without a configured secret, a
    random one that lives as long as the process."""
    key = secret.encode() if secret else secrets.token_bytes(32)
    if len(key) < 16:
        raise ConfigError("TIM_SECRET must be at least 16 bytes long")
    return UrlSigner(key, config.public_url.rstrip("/") + BLOB_ROUTE)
