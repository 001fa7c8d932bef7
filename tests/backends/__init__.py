"""The storage adapters under test, one module each.

A module named NAME offers session-scoped fixtures `NAME_repositories`
and/or `NAME_blob_stores`, each a callable returning a context manager that
yields a fresh, empty adapter. The contract suites run against every one
found here, so a new adapter joins them by adding its module.
"""

import importlib
import pkgutil

NAMES = sorted(info.name for info in pkgutil.iter_modules(__path__))


def offering(kind: str) -> list[str]:
    """Backends with a fixture for `kind` ("repositories" or "blob_stores")."""
    return [name for name in NAMES if hasattr(importlib.import_module(f"backends.{name}"), f"{name}_{kind}")]
