"""The storage adapters under test, one module each.

A module named NAME offers session-scoped fixtures `NAME_repositories`,
`NAME_blob_stores` and/or `NAME_token_stores`, each a callable returning a context manager that
yields a fresh, empty adapter. The contract suites run against every one
found here, so a new adapter joins them by adding its module. A blob store
whose signed URLs tim serves itself says so with `SERVED_BY_TIM = True`;
tests of that part of the contract take the `tim_served_blob_stores` fixture.
"""

import importlib
import pkgutil

NAMES = sorted(info.name for info in pkgutil.iter_modules(__path__))


def offering(kind: str) -> list[str]:
    """Backends with a fixture for `kind`: "repositories", "blob_stores",
    "tim_served_blob_stores" or "token_stores"."""
    served_by_tim = kind.startswith("tim_served_")
    kind = kind.removeprefix("tim_served_")
    return [
        name
        for name in NAMES
        if hasattr(module := importlib.import_module(f"backends.{name}"), f"{name}_{kind}")
        and (not served_by_tim or getattr(module, "SERVED_BY_TIM", False))
    ]
