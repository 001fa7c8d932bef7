"""Domain errors: one base class, a few kinds that callers can act on.

Entrypoints map these to their own vocabulary (HTTP status codes, exit codes);
adapters translate vendor errors into them.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class FieldProblem:
    field: str
    message: str


class TimError(Exception):
    """Base of every error tim reports on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(TimError):
    """One or more input fields are wrong; nothing was changed."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def of(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldProblem(field, message)])


class NotFound(TimError):
    """The thing asked for does not exist (or never did)."""


class ImagesNotFound(NotFound):
    """Some of the images a request names do not exist; nothing was changed."""

    def __init__(self, ids: list[int]):
        self.ids = tuple(ids)
        listed = ", ".join(map(str, self.ids[:20])) + (", ..." if len(self.ids) > 20 else "")
        super().__init__(f"{len(self.ids)} of the images do not exist (ids {listed}); nothing was changed")


class Conflict(TimError):
    """The request clashes with the current state."""


class TagNameTaken(Conflict):
    """`name` is a tag's, or an alias of it: `existing` is that tag."""

    def __init__(self, existing, name: str | None = None):
        if name is None or name == existing.name:
            super().__init__(f"a tag named {existing.name!r} already exists")
        else:
            super().__init__(f"{name!r} is an alias of the tag {existing.name!r}")
        self.existing = existing


class AlreadyUploaded(Conflict):
    def __init__(self, image_id: int):
        super().__init__(f"image {image_id} already has its file stored")


class ObjectExists(Conflict):
    """A blob store already holds an object under this key; stored files are
    never replaced."""


class UploadIncomplete(Conflict):
    """The stored object is missing or does not have the declared size."""


class SizeMismatch(TimError):
    """A body's length differs from the size declared for it; nothing was stored."""

    def __init__(self, expected: int, received: int | None = None):
        got = "" if received is None else f", got {received}"
        super().__init__(f"the file must be exactly {expected} bytes{got}")
        self.expected = expected
        self.received = received


class RangeNotSatisfiable(TimError):
    """A download asked for a range of bytes the file does not have."""

    def __init__(self, size: int):
        super().__init__(f"the range asked for is not within the file's {size} bytes")
        self.size = size


class TooLarge(TimError):
    """A request exceeds a configured size limit."""


class AccessDenied(TimError):
    """A signed URL is tampered with, expired or meant for something else."""


class StorageUnavailable(TimError):
    """A storage backend cannot be reached; retry later."""


class ChecksumMismatch(TimError):
    """The bytes sent are not the ones declared (their SHA-256 differs); nothing was stored."""

    def __init__(self, declared: str, received: str):
        super().__init__(f"the file's SHA-256 is {received}, not the declared {declared}; nothing was stored")
        self.declared = declared
        self.received = received


class UnsupportedMediaType(TimError):
    """tim cannot do this with a file of this kind (e.g. render a preview)."""
