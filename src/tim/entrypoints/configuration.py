"""Configuration of a tim service: command-line flags and environment
variables in, a checked `ServeSettings` (holding a `bootstrap.Config`) out.

Every problem is reported as one `ConfigError` line for a person; the CLI
prints it and exits with status 2.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from attrs import frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import DEFAULT_MAX_IMAGE_BYTES, parse_principal
from tim.domain.model.settings import DEFAULT_URL_EXPIRY_SECONDS
from tim.entrypoints.bootstrap import MEMORY, Config, ConfigError, build_manager

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = "./tim-data"
DEFAULT_USER = "anonymous"
# The spec's 3.96 MiB cap on a whole POST /upload request body.
DEFAULT_MAX_INLINE_UPLOAD_BYTES = 4_152_360

# The environment variables, by the setting they carry.
DATA_DIR = "TIM_DATA_DIR"
DATABASE_URL = "TIM_DATABASE_URL"
BLOBSTORE_URL = "TIM_BLOBSTORE_URL"
PUBLIC_URL = "TIM_PUBLIC_URL"
SECRET = "TIM_SECRET"
URL_EXPIRY_SECONDS = "TIM_URL_EXPIRY_SECONDS"
MAX_UPLOAD_BYTES = "TIM_MAX_UPLOAD_BYTES"
MAX_INLINE_UPLOAD_BYTES = "TIM_MAX_INLINE_UPLOAD_BYTES"
DEFAULT_USER_VARIABLE = "TIM_DEFAULT_USER"


@frozen(kw_only=True)
class ServeSettings:
    """Everything `tim serve` needs: where to listen, the core `Config`,
    and the HTTP entrypoint's own options."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    data_dir: Path
    core: Config
    default_user: str = DEFAULT_USER
    max_inline_upload_bytes: int = DEFAULT_MAX_INLINE_UPLOAD_BYTES

    def environment(self) -> dict[str, str]:
        """The environment variables that make `from_environment` rebuild
        these settings in another process (uvicorn's worker processes)."""
        core = self.core
        variables = {
            DATA_DIR: str(self.data_dir),
            DATABASE_URL: core.database_url,
            BLOBSTORE_URL: core.blobstore_url,
            PUBLIC_URL: core.public_url,
            URL_EXPIRY_SECONDS: str(core.url_expiry_seconds),
            MAX_UPLOAD_BYTES: str(core.max_image_bytes),
            MAX_INLINE_UPLOAD_BYTES: str(self.max_inline_upload_bytes),
            DEFAULT_USER_VARIABLE: self.default_user,
        }
        if core.secret:
            variables[SECRET] = core.secret
        return variables


def from_environment(
    environ: Mapping[str, str],
    *,
    host: str | None = None,
    port: str | int | None = None,
    data_dir: str | None = None,
    workers: str | int | None = None,
) -> ServeSettings:
    """Settings from flags (the keyword arguments, which win) and environment
    variables, with every default filled in. Raises ConfigError."""

    def variable(name: str) -> str | None:
        return environ.get(name) or None  # set but empty counts as unset

    host = host or DEFAULT_HOST
    port_number = whole_number("--port", DEFAULT_PORT if port is None else port, minimum=1, maximum=65535)
    directory = Path(data_dir or variable(DATA_DIR) or DEFAULT_DATA_DIR).expanduser().absolute()
    core = Config(
        database_url=variable(DATABASE_URL) or "sqlite:///" + quote(str(directory / "tim.db")),
        blobstore_url=variable(BLOBSTORE_URL) or "file://" + quote(str(directory / "files")),
        public_url=_public_url(variable(PUBLIC_URL) or f"http://{_url_host(host)}:{port_number}"),
        secret=variable(SECRET),
        data_dir=str(directory),
        url_expiry_seconds=whole_number(
            URL_EXPIRY_SECONDS, variable(URL_EXPIRY_SECONDS) or DEFAULT_URL_EXPIRY_SECONDS, minimum=1
        ),
        max_image_bytes=whole_number(MAX_UPLOAD_BYTES, variable(MAX_UPLOAD_BYTES) or DEFAULT_MAX_IMAGE_BYTES, minimum=1),
    )
    settings = ServeSettings(
        host=host,
        port=port_number,
        workers=whole_number("--workers", 1 if workers is None else workers, minimum=1),
        data_dir=directory,
        core=core,
        default_user=_principal(variable(DEFAULT_USER_VARIABLE) or DEFAULT_USER),
        max_inline_upload_bytes=whole_number(
            MAX_INLINE_UPLOAD_BYTES, variable(MAX_INLINE_UPLOAD_BYTES) or DEFAULT_MAX_INLINE_UPLOAD_BYTES, minimum=1
        ),
    )
    if settings.workers > 1 and MEMORY in (core.database_url, core.blobstore_url):
        raise ConfigError("memory: stores live inside one process: use --workers 1 with them")
    return settings


def prepare(settings: ServeSettings) -> None:
    """Create the data directory, then open and close every store once, so
    that a configuration that cannot work fails now, in one line, and not in
    each worker process with a traceback."""
    ensure_data_dir(settings.data_dir)
    try:
        build_manager(settings.core).close()
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to open is a configuration problem here
        raise ConfigError(f"cannot open the stores ({type(error).__name__}: {_one_line(error)})") from None


def whole_number(name: str, value: str | int, *, minimum: int, maximum: int | None = None) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise ConfigError(f"{name} must be a whole number, not {str(value)!r}")
    number = int(text)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {bounds}, not {number}")
    return number


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{PUBLIC_URL} must look like http(s)://host[:port][/path], not {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ConfigError(f"{PUBLIC_URL} has an invalid port: {url!r}") from None
    return url.rstrip("/")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 address


def _principal(name: str) -> str:
    try:
        return parse_principal(name)
    except InvalidInput as error:
        raise ConfigError(f"{DEFAULT_USER_VARIABLE} {error.problems[0].message}") from None


def ensure_data_dir(path: Path) -> None:
    """Create the data directory if need be, and check that it is writable."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{secrets.token_hex(4)}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"the data directory {str(path)!r} is not usable: {error.strerror or error}") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "no details"
