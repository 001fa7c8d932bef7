"""Configuration of a tim service: command-line flags and environment
variables in, a checked `ServeSettings` (holding a `bootstrap.Config`) out.

Every problem is reported as one `ConfigError` line for a person; the CLI
prints it and exits with status 2.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from attrs import frozen

from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import DEFAULT_MAX_IMAGE_BYTES, parse_principal
from tim.domain.model.settings import DEFAULT_URL_EXPIRY_SECONDS
from tim.domain.model.tags import DEFAULT_MAX_TAGS_PER_IMAGE
from tim.entrypoints.bootstrap import (
    AUTH_MODES,
    DEFAULT_STATEMENT_TIMEOUT_SECONDS,
    MEMORY,
    AuthConfig,
    Config,
    ConfigError,
    JwtConfig,
    build_authenticator,
    build_manager,
)

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
MAX_TAGS_PER_IMAGE = "TIM_MAX_TAGS_PER_IMAGE"
DEFAULT_USER_VARIABLE = "TIM_DEFAULT_USER"
AUTH = "TIM_AUTH"
JWT_JWKS_URL = "TIM_JWT_JWKS_URL"
JWT_ISSUER = "TIM_JWT_ISSUER"
JWT_AUDIENCE = "TIM_JWT_AUDIENCE"
JWT_AUDIENCE_CLAIM = "TIM_JWT_AUDIENCE_CLAIM"
JWT_ALGORITHMS = "TIM_JWT_ALGORITHMS"
JWT_USER_CLAIM = "TIM_JWT_USER_CLAIM"
JWT_SCOPE_CLAIM = "TIM_JWT_SCOPE_CLAIM"
STATEMENT_TIMEOUT = "TIM_STATEMENT_TIMEOUT_SECONDS"
ACCESS_LOG = "TIM_ACCESS_LOG"
ACCESS_LOG_FORMAT = "TIM_ACCESS_LOG_FORMAT"
ACCESS_LOG_FORMATS = ("text", "json")
STDERR = "-"


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
    auth: AuthConfig = AuthConfig()
    # One line per request: to stderr ("-") or appended to this file.
    access_log: str = STDERR
    access_log_format: str = "text"

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
            STATEMENT_TIMEOUT: str(core.statement_timeout_seconds),
            MAX_INLINE_UPLOAD_BYTES: str(self.max_inline_upload_bytes),
            MAX_TAGS_PER_IMAGE: str(core.max_tags_per_image),
            DEFAULT_USER_VARIABLE: self.default_user,
        }
        if core.secret:
            variables[SECRET] = core.secret
        variables |= {AUTH: self.auth.mode, ACCESS_LOG: self.access_log, ACCESS_LOG_FORMAT: self.access_log_format}
        jwt = self.auth.jwt
        if jwt is not None:
            variables |= {
                JWT_JWKS_URL: jwt.jwks_url,
                JWT_ISSUER: jwt.issuer,
                JWT_AUDIENCE: jwt.audience,
                JWT_AUDIENCE_CLAIM: jwt.audience_claim,
                JWT_ALGORITHMS: ",".join(jwt.algorithms),
                JWT_USER_CLAIM: jwt.user_claim,
                JWT_SCOPE_CLAIM: jwt.scope_claim,
            }
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
        max_tags_per_image=whole_number(
            MAX_TAGS_PER_IMAGE, variable(MAX_TAGS_PER_IMAGE) or DEFAULT_MAX_TAGS_PER_IMAGE, minimum=1
        ),
        statement_timeout_seconds=whole_number(
            STATEMENT_TIMEOUT, variable(STATEMENT_TIMEOUT) or DEFAULT_STATEMENT_TIMEOUT_SECONDS, minimum=1
        ),
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
        auth=_auth(variable),
        access_log=_access_log(variable(ACCESS_LOG) or STDERR),
        access_log_format=_one_of(ACCESS_LOG_FORMAT, variable(ACCESS_LOG_FORMAT) or "text", ACCESS_LOG_FORMATS),
    )
    if settings.workers > 1 and MEMORY in (core.database_url, core.blobstore_url):
        raise ConfigError("memory: stores live inside one process: use --workers 1 with them")
    if settings.auth.mode == "tokens" and core.database_url == MEMORY:
        raise ConfigError(f"{AUTH}=tokens keeps tokens in the database, and `tim token create` cannot reach a memory: one")
    return settings


def prepare(settings: ServeSettings) -> None:
    """Create the data directory, then open and close every store once, so
    that a configuration that cannot work fails now, in one line, and not in
    each worker process with a traceback."""
    ensure_data_dir(settings)
    try:
        build_manager(settings.core).close()
        build_authenticator(
            settings.auth, database_url=settings.core.database_url, default_user=settings.default_user
        ).close()
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to open is a configuration problem here
        raise ConfigError(f"cannot open the stores ({type(error).__name__}: {_one_line(error)})") from None
    if settings.access_log != STDERR:
        try:
            with open(settings.access_log, "a"):
                pass
        except OSError as error:
            raise ConfigError(f"{ACCESS_LOG} {settings.access_log!r} cannot be written: {error.strerror or error}") from None


def refuse_open_network(settings: ServeSettings, *, insecure: bool) -> None:
    """Without authentication every caller is an admin: that is only safe on
    a loopback address, unless the operator says otherwise (--insecure)."""
    if settings.auth.mode == "none" and not insecure and not is_loopback(settings.host):
        raise ConfigError(
            f"{AUTH}=none lets anyone who reaches {settings.host} read, change and delete everything: "
            f"listen on 127.0.0.1, set {AUTH}=tokens or jwt, or pass --insecure"
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


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


def _auth(variable) -> AuthConfig:
    mode = _one_of(AUTH, variable(AUTH) or "none", AUTH_MODES)
    if mode != "jwt":
        return AuthConfig(mode=mode)
    missing = [name for name in (JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE) if not variable(name)]
    if missing:
        raise ConfigError(f"{AUTH}=jwt needs {', '.join(missing)}")
    return AuthConfig(
        mode=mode,
        jwt=JwtConfig(
            jwks_url=variable(JWT_JWKS_URL),
            issuer=variable(JWT_ISSUER),
            audience=variable(JWT_AUDIENCE),
            audience_claim=variable(JWT_AUDIENCE_CLAIM) or "aud",
            # Names as the JOSE registry spells them (RS256, EdDSA), so not case-folded.
            algorithms=tuple(re.split(r"[\s,]+", (variable(JWT_ALGORITHMS) or "RS256").strip())),
            user_claim=variable(JWT_USER_CLAIM) or "sub",
            scope_claim=variable(JWT_SCOPE_CLAIM) or "scope",
        ),
    )


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.strip().lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value.strip().lower()


def _access_log(destination: str) -> str:
    return destination if destination == STDERR else str(Path(destination).expanduser().absolute())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 address


def _principal(name: str) -> str:
    try:
        return parse_principal(name)
    except InvalidInput as error:
        raise ConfigError(f"{DEFAULT_USER_VARIABLE} {error.problems[0].message}") from None


def ensure_data_dir(settings: ServeSettings) -> None:
    """Create the data directory if a store keeps anything there (a SQLite
    file, files and their signing secret), and check that it is writable.
    PostgreSQL with S3 needs none: the servers then keep no state."""
    schemes = {url.split(":", 1)[0].lower() for url in (settings.core.database_url, settings.core.blobstore_url)}
    if not schemes & {"sqlite", "file"}:
        return
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{secrets.token_hex(4)}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"the data directory {str(path)!r} is not usable: {error.strerror or error}") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "no details"
