"""Sweeping what interrupted work leaves behind.

The database and the blob store never share a transaction, so every write
order leaves a possible leftover: a pending record whose upload did arrive,
an upload of the wrong size, a record never uploaded, an object no record
refers to, a replayed PUT to an upload URL. Each is harmless to readers;
this sweep finds and settles them.
"""

from __future__ import annotations

import logging

from attrs import define, frozen

from tim.domain.model.fields import parse_int
from tim.domain.model.images import owner_key
from tim.domain.model.history import SYSTEM, Actor
from tim.domain.use_cases.parts import Ports, Records
from tim.ports.blob_store import UploadState

log = logging.getLogger(__name__)


@define
class SweepReport:
    completed: int = 0  # pending records whose upload was found and confirmed
    rejected: int = 0  # uploads of the wrong size or content (not the declared SHA-256), removed
    expired: int = 0  # pending records older than the limit, removed
    orphans: int = 0  # objects no record refers to, removed
    replays: int = 0  # PUTs to the upload URL of an already stored image, removed
    temporaries: int = 0  # half-written files of interrupted uploads, removed


@frozen
class Sweeps:
    ports: Ports
    records: Records

    def reconcile(
        self, *, remove_orphans: bool = False, expire_pending_after: object = None, orphan_grace: object = None
    ) -> SweepReport:
        """Confirm or reject every pending upload; with `expire_pending_after`
        (seconds), remove pending records older than that; with
        `remove_orphans`, remove objects that no record refers to and
        replayed uploads (only ones older than the grace period: `orphan_grace`
        seconds, by default the settings'). Always remove stale temporaries
        (see remove_stale_temporaries), with the same grace period."""
        max_age = None if expire_pending_after is None else parse_int("expire_pending_after", expire_pending_after, minimum=0)
        grace = self.ports.settings.orphan_grace_seconds
        if orphan_grace is not None:
            grace = parse_int("orphan_grace", orphan_grace, minimum=0)
        report = SweepReport()
        repository, blobs = self.ports.repository, self.ports.blobs
        now = self.ports.clock.now()
        for image in repository.pending_images(created_before=now + 1):
            settled, state = self.records.settle(image, blobs.confirm_upload(image.blob_key, image.size))
            if state is UploadState.STORED:
                report.completed += settled is not None
            elif state in (UploadState.WRONG_SIZE, UploadState.WRONG_CONTENT):
                report.rejected += 1
            elif max_age is not None and image.created_timestamp < now - max_age:
                # Only if still pending: an upload may have completed since the check.
                if repository.delete_image(image.id, pending_only=True, actor=Actor(SYSTEM, now)) is not None:
                    self.records.forget_blob(image.blob_key)  # an upload may still arrive late
                    report.expired += 1
        if remove_orphans:
            self._remove_orphans(report, older_than=now - grace)
        report.temporaries = self.remove_stale_temporaries(older_than=now - grace)
        log.info("sweep: %s", report)
        return report

    def remove_stale_temporaries(self, older_than: int | None = None) -> int:
        """Remove what uploads interrupted by a crash left half-written in
        the blob store, once untouched since `older_than` (by default, for
        the grace period); how many."""
        if older_than is None:
            older_than = self.ports.clock.now() - self.ports.settings.orphan_grace_seconds
        return self.ports.blobs.remove_stale_temporaries(older_than=older_than)

    def _remove_orphans(self, report: SweepReport, *, older_than: int) -> None:
        blobs = self.ports.blobs
        for stored in blobs.objects():
            if stored.modified_timestamp >= older_than:
                continue
            # A derived object (a preview) belongs to the image of its file.
            image = self.ports.repository.get_image_by_blob_key(owner_key(stored.key))
            if image is None:
                blobs.delete(stored.key)
                report.orphans += 1
            elif stored.at_upload_url and image.is_uploaded and stored.key == image.blob_key:
                blobs.discard_upload(stored.key)
                report.replays += 1
