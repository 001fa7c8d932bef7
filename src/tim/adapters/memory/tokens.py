"""API tokens kept in a dict: the reference for the token contract tests."""

from __future__ import annotations

import threading

from tim.domain.model.access import StoredToken, TokenNameTaken


class MemoryTokenRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, StoredToken] = {}

    def add_token(self, token: StoredToken) -> None:
        with self._lock:
            if token.token.name in self._by_name:
                raise TokenNameTaken(token.token.name)
            self._by_name[token.token.name] = token

    def find_token(self, digest: bytes) -> StoredToken | None:
        with self._lock:
            return next((stored for stored in self._by_name.values() if stored.digest == digest), None)

    def list_tokens(self) -> list[StoredToken]:
        with self._lock:
            return sorted(self._by_name.values(), key=lambda stored: stored.token.name)

    def delete_token(self, name: str) -> bool:
        with self._lock:
            return self._by_name.pop(name, None) is not None

    def close(self) -> None:
        pass
