"""Signed URLs for the blob stores whose PUTs and GETs tim serves itself
(in-memory and local files).

The signature is HMAC-SHA256 over the method, the object key, the expiry
and, for a PUT, the exact body length. Object keys are never reused, so a
URL can only ever open the one object it was made for.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

from tim.domain.model.errors import AccessDenied
from tim.ports.blob_store import UploadState


_SHA256_BLOCK = 64
# URLs made lately, by what they were made for: within a second, the
# records on popular pages ask for the same ones again and again.
REMEMBERED_URLS = 20_000


class UrlSigner:
    def __init__(self, secret: bytes, base_url: str):
        if len(secret) < 16:
            raise ValueError("the URL signing secret must be at least 16 bytes")
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._made: dict[tuple[str, str, int, int | None], str] = {}
        block = secret if len(secret) <= _SHA256_BLOCK else hashlib.sha256(secret).digest()
        block = block.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def url(self, method: str, key: str, expires_at: int, length: int | None = None) -> str:
        made = self._made.get((method, key, expires_at, length))
        if made is None:
            if len(self._made) >= REMEMBERED_URLS:
                self._made.clear()
            made = self._made[(method, key, expires_at, length)] = self._url(method, key, expires_at, length)
        return made

    def _url(self, method: str, key: str, expires_at: int, length: int | None) -> str:
        # Every part is digits or hex, which a query string takes as they
        # are: formatted directly, since a page of images signs a hundred.
        expires = str(expires_at)
        query = f"expires={expires}" if length is None else f"expires={expires}&length={length}"
        signature = self._sign(method, key, {"expires": expires, "length": "" if length is None else str(length)})
        path = key if key.isascii() and key.isalnum() else quote(key, safe="")
        return f"{self._base_url}/{path}?{query}&signature={signature}"

    def check(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        """Raise AccessDenied unless the parameters are a valid signature for
        this method and key and have not expired; return the pinned length."""
        expires, length, signature = params.get("expires"), params.get("length"), params.get("signature")
        if not expires or not signature:
            raise AccessDenied("this URL is not signed")
        if (method == "PUT") != (length is not None):
            raise AccessDenied(f"this URL was not signed for {method}")
        signed = {"expires": expires} | ({} if length is None else {"length": length})
        if not hmac.compare_digest(self._sign(method, key, signed).encode(), signature.encode("utf-8", "replace")):
            raise AccessDenied("this URL's signature is not valid for this request")
        if not expires.isdigit() or int(expires) < now:
            raise AccessDenied("this URL has expired")
        return None if length is None else int(length)

    def _sign(self, method: str, key: str, params: Mapping[str, str]) -> str:
        message = "\n".join([method, key, params["expires"], params.get("length") or ""]).encode()
        # HMAC-SHA256 from SHA-256 states keyed once (RFC 2104), which saves
        # half the cost of hmac.digest's setting up of the key every time.
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


class ServedByTim:
    """The part of the BlobStore port shared by stores whose uploads and
    downloads tim serves itself, at URLs signed by `self._signer`: an upload
    lands in its permanent place, so there is nothing to move or discard."""

    completes_on_put = True
    _signer: UrlSigner

    def upload_url(self, key: str, size: int, expires_at: int, sha256: str | None = None) -> str:
        # A declared digest is the record's: tim checks the bytes it receives against it.
        return self._signer.url("PUT", key, expires_at, size)

    def upload_headers(self, sha256: str | None) -> dict[str, str]:
        return {}

    def stored_sha256(self, key: str) -> str | None:
        return None  # tim digests what it receives; a file found later is read

    def download_url(self, key: str, filename: str, expires_at: int, media_type: str | None = None) -> str:
        return self._signer.url("GET", key, expires_at)

    def check_signed_request(self, method: str, key: str, params: Mapping[str, str], now: int) -> int | None:
        return self._signer.check(method, key, params, now)

    def confirm_upload(self, key: str, size: int) -> UploadState:
        stored = self.stat(key)
        if stored is None:
            return UploadState.MISSING
        if stored != size:
            self.delete(key)
            return UploadState.WRONG_SIZE
        return UploadState.STORED

    def discard_upload(self, key: str) -> None:
        pass  # no upload object apart from the file itself
