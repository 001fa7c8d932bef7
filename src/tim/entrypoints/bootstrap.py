"""The composition root: turns configuration into a ready ImageManager.

The only module that picks adapters. Every entrypoint (embedding, HTTP,
CLI) and the tests build tim through `build_manager`. Adapters are imported
when chosen, so an embedder on SQLite never loads boto3 or psycopg.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from attrs import field, frozen, validators

from tim.adapters.clock import SystemClock
from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.memory.tokens import MemoryTokenRepository
from tim.adapters.postings.index import PostingIndex
from tim.adapters.signed_urls import UrlSigner
from tim.adapters.upload_checks import RationedUploadChecks
from tim.domain.model.cursors import Cursors
from tim.domain.model.images import DEFAULT_MAX_IMAGE_BYTES
from tim.domain.model.settings import DEFAULT_URL_EXPIRY_SECONDS, Settings
from tim.domain.model.tags import DEFAULT_MAX_TAGS_PER_IMAGE
from tim.domain.use_cases.manager import ImageManager
from tim.domain.use_cases.tokens import OpenAccess, TokenManager
from tim.ports.access import Authenticator, TokenRepository
from tim.ports.blob_store import BlobStore
from tim.ports.clock import Clock
from tim.ports.imaging import DicomHeaders
from tim.ports.repository import Repository

# Where the HTTP entrypoint serves signed PUTs and GETs for local stores.
BLOB_ROUTE = "/v1/blobs"
MEMORY = "memory:"
DEFAULT_STATEMENT_TIMEOUT_SECONDS = 5
SECRET_FILE = "url-signing.secret"


class ConfigError(Exception):
    """Configuration that cannot work; the message is one line for a person."""


@frozen(kw_only=True)
class Config:
    database_url: str = MEMORY
    blobstore_url: str = MEMORY
    # The base URL clients reach tim at; signed URLs of local stores start with it.
    public_url: str = "http://127.0.0.1:8000"
    # Secret for signed URLs of local stores; else one kept in data_dir (or the
    # file store's folder), else a random one for the life of the process.
    secret: str | None = None
    data_dir: str | None = None
    url_expiry_seconds: int = field(default=DEFAULT_URL_EXPIRY_SECONDS, validator=validators.gt(0))
    max_image_bytes: int = field(default=DEFAULT_MAX_IMAGE_BYTES, validator=validators.gt(0))
    max_tags_per_image: int = field(default=DEFAULT_MAX_TAGS_PER_IMAGE, validator=validators.gt(0))
    # PostgreSQL cancels any statement of tim's that runs longer than this.
    statement_timeout_seconds: int = field(default=DEFAULT_STATEMENT_TIMEOUT_SECONDS, validator=validators.gt(0))


def build_manager(config: Config, *, clock: Clock | None = None) -> ImageManager:
    repository = open_repository(config.database_url, statement_timeout_seconds=config.statement_timeout_seconds)
    try:
        blobs = open_blob_store(config)
    except BaseException:
        repository.close()
        raise
    settings = Settings(
        max_image_bytes=config.max_image_bytes,
        url_expiry_seconds=config.url_expiry_seconds,
        max_tags_per_image=config.max_tags_per_image,
    )
    return assemble(repository, blobs, clock=clock, settings=settings, secret=config.secret)


def assemble(
    repository: Repository,
    blobs: BlobStore,
    *,
    clock: Clock | None = None,
    settings: Settings = Settings(),
    secret: str | None = None,
) -> ImageManager:
    """An ImageManager over a repository and a blob store, with a search
    index of its own, rationed upload checks, and pydicom, numpy and Pillow
    for reading image files. Cursors are sealed with a key derived from
    `secret` (TIM_SECRET) when there is one, else with one kept in the
    database: every server and worker on it shares either."""
    # Imported here: pydicom, numpy and Pillow load only when tim is assembled.
    from tim.adapters.imaging.dicom_headers import PydicomHeaders
    from tim.adapters.imaging.previews import PillowPreviews

    clock = clock or SystemClock()
    return ImageManager(
        repository=repository,
        index=PostingIndex(),
        blobs=blobs,
        upload_checks=RationedUploadChecks(blobs, clock, interval_seconds=settings.pending_check_interval_seconds),
        clock=clock,
        dicom_headers=PydicomHeaders(),
        previews=PillowPreviews(),
        settings=settings,
        cursors=Cursors(_derived_key(secret.encode(), b"tim cursors")) if secret else None,
    )


def open_dicom_headers() -> DicomHeaders:
    """What reads DICOM headers, for entrypoints that look at files before tim does (tim import)."""
    from tim.adapters.imaging.dicom_headers import PydicomHeaders

    return PydicomHeaders()


def _derived_key(secret: bytes, purpose: bytes) -> bytes:
    """A key for one purpose from a secret kept for another: neither tells the other."""
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def open_repository(url: str, *, statement_timeout_seconds: int = DEFAULT_STATEMENT_TIMEOUT_SECONDS) -> Repository:
    kind = _database_kind(url)
    if kind == "sqlite":
        from tim.adapters.sqlite.repository import SqliteRepository

        return SqliteRepository.open(_sqlite_path(url))
    if kind == "postgres":
        from tim.adapters.postgres.repository import PostgresRepository

        return PostgresRepository.open(url, statement_timeout_seconds=statement_timeout_seconds)
    return MemoryRepository()


def _database_kind(url: str) -> str:
    """memory, sqlite or postgres, from a database URL."""
    scheme = url.split(":", 1)[0].lower()
    if url == MEMORY:
        return "memory"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    raise ConfigError(f"unsupported database URL {redacted(url)!r}: use memory:, sqlite:///PATH or postgresql://...")


def open_blob_store(config: Config) -> BlobStore:
    url = config.blobstore_url
    scheme = url.split(":", 1)[0].lower()
    if url == MEMORY:
        return MemoryBlobStore(_signer(config, None))
    if scheme == "file":
        from tim.adapters.filesystem.blob_store import FileBlobStore

        root = _file_path(url)
        return FileBlobStore(root, _signer(config, Path(config.data_dir) if config.data_dir else root))
    if scheme == "s3":
        from tim.adapters.s3.blob_store import S3BlobStore

        try:
            return S3BlobStore.from_url(url)
        except ValueError as error:
            raise ConfigError(str(error)) from error
    raise ConfigError(f"unsupported blob store URL {url!r}: use memory:, file:///PATH or s3://BUCKET/PREFIX")


def redacted(url: str) -> str:
    """The URL with any password replaced, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _sqlite_path(url: str) -> Path:
    """sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them."""
    if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
        raise ConfigError(f"a SQLite URL looks like sqlite:///relative/path.db or sqlite:////absolute/path.db, not {url!r}")
    return Path(unquote(url[len("sqlite:///") :]))


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ConfigError(f"a file store URL looks like file:///absolute/path, not {url!r}")
    return Path(unquote(parts.path))


def _signer(config: Config, secret_dir: Path | None) -> UrlSigner:
    if config.secret:
        secret = config.secret.encode()
        if len(secret) < 16:
            raise ConfigError("the URL signing secret (TIM_SECRET) must be at least 16 bytes long")
    elif secret_dir is not None:
        secret = _kept_secret(secret_dir / SECRET_FILE)
    else:
        secret = secrets.token_bytes(32)
    return UrlSigner(secret, config.public_url.rstrip("/") + BLOB_ROUTE)


def _kept_secret(path: Path) -> bytes:
    """The secret kept at `path`, made on first use. Written to a temporary
    file and linked into place, so concurrent first starts agree on one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        # Readable by the owner only from the start, and on disk before it is linked into place.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    secret = path.read_text().strip().encode()
    if len(secret) < 16:
        raise ConfigError(f"the URL signing secret in {path} is too short (at least 16 bytes)")
    return secret


# Access control: who the callers of the HTTP entrypoint are.

AUTH_MODES = ("none", "tokens", "jwt")


@frozen(kw_only=True)
class JwtConfig:
    """Where bearer JWTs come from and what they must say (TIM_JWT_*)."""

    jwks_url: str
    issuer: str
    audience: str
    audience_claim: str = "aud"
    algorithms: tuple[str, ...] = ("RS256",)
    user_claim: str = "sub"
    scope_claim: str = "scope"


@frozen(kw_only=True)
class AuthConfig:
    """TIM_AUTH: `none` (everyone is the default user, with every scope),
    `tokens` (API tokens kept in the database) or `jwt` (needs `jwt`)."""

    mode: str = field(default="none", validator=validators.in_(AUTH_MODES))
    jwt: JwtConfig | None = None


def build_authenticator(
    auth: AuthConfig, *, database_url: str, default_user: str, clock: Clock | None = None
) -> Authenticator:
    """The Authenticator for `auth`; tokens live in the images' database."""
    if auth.mode == "tokens":
        return build_token_manager(database_url, clock=clock)
    if auth.mode == "jwt":
        if auth.jwt is None:
            raise ConfigError("TIM_AUTH=jwt needs TIM_JWT_JWKS_URL, TIM_JWT_ISSUER and TIM_JWT_AUDIENCE")
        return _jwt_authenticator(auth.jwt)
    return OpenAccess.as_user(default_user)


def build_token_manager(database_url: str, *, clock: Clock | None = None) -> TokenManager:
    return TokenManager(tokens=open_token_repository(database_url), clock=clock or SystemClock())


def open_token_repository(url: str) -> TokenRepository:
    """API tokens live in the images' database."""
    kind = _database_kind(url)
    if kind == "sqlite":
        from tim.adapters.sqlite.tokens import SqliteTokenRepository

        return SqliteTokenRepository.open(_sqlite_path(url))
    if kind == "postgres":
        from tim.adapters.postgres.tokens import PostgresTokenRepository

        return PostgresTokenRepository.open(url)
    return MemoryTokenRepository()


def _jwt_authenticator(config: JwtConfig) -> Authenticator:
    # Imported here: PyJWT is only loaded when JWTs are used.
    from tim.adapters.jwt.authenticator import JwtAuthenticator, JwtSettings

    try:
        return JwtAuthenticator(
            JwtSettings(
                jwks_url=config.jwks_url,
                issuer=config.issuer,
                audience=config.audience,
                audience_claim=config.audience_claim,
                algorithms=config.algorithms,
                user_claim=config.user_claim,
                scope_claim=config.scope_claim,
            )
        )
    except ValueError as error:
        raise ConfigError(f"the JWT settings (TIM_JWT_*) cannot work: {error}") from None
