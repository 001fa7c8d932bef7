"""What a running server sweeps by itself: the half-written files of
uploads that a crash interrupted (a killed server, or one sharing the
store), so that they go without a restart or a `tim reconcile`.

An upload that fails while tim runs removes its own file; this is for the
ones whose process died. Several servers sharing a store each sweep it:
the store never removes a file still being written, so that is harmless.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from tim.domain.model.errors import TimError
from tim.domain.use_cases.manager import ImageManager

log = logging.getLogger(__name__)

DEFAULT_SWEEP_INTERVAL_SECONDS = 600.0


async def sweep_temporaries_every(seconds: float, manager: ImageManager) -> None:
    """Sweep at once, then every `seconds`, until cancelled."""
    while True:
        try:
            removed = await anyio.to_thread.run_sync(manager.remove_stale_temporaries)
        except TimError as error:  # a store that is down now may be up next time
            log.warning("could not sweep temporary files: %s", error.message)
        else:
            if removed:
                log.info("removed %d temporary files left by interrupted uploads", removed)
        await anyio.sleep(seconds)
