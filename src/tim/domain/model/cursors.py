"""Cursors: where a walk through a list stands, as an opaque string.

A cursor carries the key of the last result a page showed (the next page
holds what comes after it) and the scope it was made for (the list and its
filters). It is sealed with an HMAC under a key of the catalogue's, so a
client can neither forge nor alter one, nor take one to other filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Sequence

from attrs import field, frozen, validators

from tim.domain.model.errors import InvalidInput

_VERSION = 1
_SCOPE_BYTES = 8
_MAC_BYTES = 16
# Longer than any cursor tim makes: anything longer is refused unread.
MAX_CURSOR_LENGTH = 120
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _scope_digest(scope: str) -> bytes:
    return hashlib.sha256(scope.encode()).digest()[:_SCOPE_BYTES]


@frozen
class Cursors:
    key: bytes = field(repr=False, validator=[validators.instance_of(bytes), validators.min_len(16)])

    @classmethod
    def random(cls) -> Cursors:
        """For a catalogue that lives as long as this process."""
        return cls(secrets.token_bytes(32))

    def seal(self, key: Sequence[int], scope: str) -> str:
        payload = struct.pack(f">B{len(key)}q", _VERSION, *key) + _scope_digest(scope)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode("ascii")

    def open(self, text: object, scope: str, size: int) -> tuple[int, ...]:
        """The key a cursor carries; InvalidInput (naming `cursor`) for one
        that tim did not make as it is, or made for another scope."""
        forged = InvalidInput.of("cursor", "is not a cursor from this service, or was changed")
        if not isinstance(text, str) or len(text) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(text):
            raise forged
        try:
            sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except binascii.Error:
            raise forged from None
        if base64.urlsafe_b64encode(sealed).rstrip(b"=") != text.encode():  # one spelling only: no stray bits
            raise forged
        payload, mac = sealed[:-_MAC_BYTES], sealed[-_MAC_BYTES:]
        if len(payload) != 1 + 8 * size + _SCOPE_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
            raise forged
        if payload[0] != _VERSION:
            raise forged
        if not hmac.compare_digest(payload[-_SCOPE_BYTES:], _scope_digest(scope)):
            raise InvalidInput.of("cursor", "was made for other filters: repeat the first request's filters with it")
        return struct.unpack(f">{size}q", payload[1:-_SCOPE_BYTES])

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
