"""The whole set of use cases behind one object: what embedders call and
what every entrypoint drives."""

from __future__ import annotations

from typing import Any

from tim.domain.model.cursors import Cursors
from tim.domain.model.settings import Settings
from tim.domain.use_cases.history import History
from tim.domain.use_cases.images import Images
from tim.domain.use_cases.parts import Ports, Records
from tim.domain.use_cases.previews import ImagePreviews
from tim.domain.use_cases.sweeps import Sweeps
from tim.domain.use_cases.tags import Tags
from tim.domain.use_cases.transfers import Transfers
from tim.ports.blob_store import BlobStore, UploadChecks
from tim.ports.clock import Clock
from tim.ports.imaging import DicomHeaders, Previews
from tim.ports.repository import Repository
from tim.ports.search_index import SearchIndex


class _Offered:
    """A method of one of the parts, offered by ImageManager under its own name."""

    def __init__(self, part: str):
        self.part = part

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, manager: Any, owner: type) -> Any:
        return self if manager is None else getattr(getattr(manager, self.part), self.name)


class ImageManager:
    """Images, tags, uploads and downloads, over the ports it is given.

    Build one with `tim.open(...)`, or from adapters:
    `ImageManager(repository=..., index=..., blobs=..., upload_checks=..., clock=..., dicom_headers=...,
    previews=..., settings=...)`.
    Every method validates its raw input and raises a `TimError` subclass
    naming the field and the reason; `created_by` (who creates an image) and
    `by` (who changes one: what history records) are always the caller's
    identity as the embedding program established it.

    The work is done by parts, each a small set of use cases over the same
    ports (`images`, `tags`, `transfers`, `sweeps`, `previews`, `history`);
    this object offers their methods under one name.
    """

    def __init__(
        self,
        *,
        repository: Repository,
        index: SearchIndex,
        blobs: BlobStore,
        upload_checks: UploadChecks,
        clock: Clock,
        dicom_headers: DicomHeaders,
        previews: Previews,
        settings: Settings = Settings(),
        cursors: Cursors | None = None,
    ):
        # Cursors are sealed with a key kept with the catalogue unless one is
        # given, so that every process on it accepts the others' cursors.
        self.ports = Ports(
            repository=repository,
            index=index,
            blobs=blobs,
            upload_checks=upload_checks,
            clock=clock,
            dicom_headers=dicom_headers,
            previews=previews,
            settings=settings,
            cursors=cursors or Cursors(repository.kept_secret("cursors")),
        )
        records = Records(self.ports)
        self.images = Images(self.ports, records)
        self.tags = Tags(self.ports, records)
        self.transfers = Transfers(self.ports, records)
        self.sweeps = Sweeps(self.ports, records)
        self.previews = ImagePreviews(self.ports, records)
        self.history = History(self.ports, records)

    create_image = _Offered("images")
    upload_image = _Offered("images")
    get_image = _Offered("images")
    list_images = _Offered("images")
    search_images = _Offered("images")
    find_images = _Offered("images")
    export_images = _Offered("images")
    export_batches = _Offered("images")
    update_image_tags = _Offered("images")
    edit_image_tags = _Offered("images")
    edit_tags_of_images = _Offered("images")
    delete_image = _Offered("images")

    list_tags = _Offered("tags")
    create_tag = _Offered("tags")
    get_tag = _Offered("tags")
    rename_tag = _Offered("tags")
    delete_tag = _Offered("tags")
    merge_tags = _Offered("tags")
    remove_alias = _Offered("tags")
    tag_collisions = _Offered("tags")
    list_tag_images = _Offered("tags")

    image_history = _Offered("history")
    list_history = _Offered("history")

    receive_upload = _Offered("transfers")
    start_upload = _Offered("transfers")
    finish_upload = _Offered("transfers")
    upload_file = _Offered("transfers")
    open_download = _Offered("transfers")
    read_file = _Offered("transfers")
    complete_upload = _Offered("transfers")
    complete_upload_of = _Offered("transfers")

    reconcile = _Offered("sweeps")
    remove_stale_temporaries = _Offered("sweeps")

    preview = _Offered("previews")

    @property
    def repository(self) -> Repository:
        return self.ports.repository

    @property
    def settings(self) -> Settings:
        return self.ports.settings

    def refresh_index(self) -> None:
        """Bring the search index up to date now (building it if need be),
        rather than at the next search."""
        with self.ports.repository.read() as view:
            self.ports.index.refresh(view)

    def reindex(self) -> None:
        """Rebuild the search index from the tables, in this and every other
        process on the same database (before each one's next search)."""
        self.ports.repository.reindex()
        self.refresh_index()

    def close(self) -> None:
        self.ports.repository.close()
