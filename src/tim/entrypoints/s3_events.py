"""S3 event notifications in, verified upload completion out.

Deploy `handler` as an AWS Lambda function subscribed to the bucket's
`s3:ObjectCreated:*` events (under the upload prefix), with the same TIM_*
environment variables as `tim serve`. Each object that arrives at an upload
URL is checked at once (exact size), moved to its permanent key, and its
image marked uploaded: clients need not call `complete`.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import unquote_plus

from tim.domain.use_cases.manager import ImageManager
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import build_manager

log = logging.getLogger(__name__)
_manager: ImageManager | None = None  # built once per Lambda container, then reused


def handler(event: dict[str, Any], context: object = None) -> dict[str, list[int]]:
    """The image ids found uploaded, and those still pending (wrong or no object)."""
    manager = _shared_manager()
    report: dict[str, list[int]] = {"uploaded": [], "pending": []}
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        object_key = unquote_plus(record["s3"]["object"]["key"])  # S3 sends keys URL-encoded
        image = manager.complete_upload_of(object_key.rsplit("/", 1)[-1])
        if image is None:
            log.info("no image for object %s; the sweep will remove it", object_key)
        else:
            report["uploaded" if image.is_uploaded else "pending"].append(image.id)
    return report


def _shared_manager() -> ImageManager:
    global _manager
    if _manager is None:
        _manager = build_manager(configuration.from_environment(os.environ).core)
    return _manager
