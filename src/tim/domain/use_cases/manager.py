"""The whole set of use cases behind one object: what embedders call and
what every entrypoint drives."""

from __future__ import annotations

from tim.domain.use_cases.sweeps import SweepUseCases


class ImageManager(SweepUseCases):
    """Images, tags, uploads and downloads, over the ports it is given.

    Build one with `tim.open(...)`, or directly from adapters:
    `ImageManager(repository=..., blobs=..., clock=..., settings=...)`.
    Every method validates its raw input and raises a `TimError` subclass
    naming the field and the reason; `created_by` is always the caller's
    identity as the embedding program established it.
    """

    def close(self) -> None:
        self.repository.close()
