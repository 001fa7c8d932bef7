"""`tim export --to DIR [filters]`: the files a search selects, and a
manifest.

    DIR/files/<id>-<filename>   each stored file, checked against its SHA-256
    DIR/manifest.jsonl          one record a line: the ImageRecord, its path

A file is written beside its place (`.part`), checked, synced and renamed
into place, so one that is there is whole: a later run skips it, and an
interrupted run is resumed by running it again. The manifest is written the
same way, as the records stream by, a page at a time: memory stays flat
however many records match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from tim.domain.model.errors import TimError
from tim.domain.model.paging import MAX_PAGE_SIZE
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import ConfigError
from tim.entrypoints.catalogs import Catalog, CatalogError, add_remote_options, open_catalog
from tim.entrypoints.progress import Progress

EXPORTED, PRESENT, PENDING, FAILED = "exported", "present", "pending", "failed"
FILES = "files"
MANIFEST = "manifest.jsonl"
# A name within one path segment of every common filesystem (255 bytes).
MAX_NAME_BYTES = 200


def add_export(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "export",
        help="write the files a search selects, and a manifest of their records, to a folder",
        description="Write the stored files of the images that the filters select (all images without any) to "
        f"DIR/{FILES}/, checked against their SHA-256, and one record a line to DIR/{MANIFEST}. Running it again "
        "skips the files already there.",
    )
    command.add_argument("--to", required=True, metavar="DIR", help="the folder to write to (created if missing)")
    command.add_argument("--exact-tags", action="append", metavar="TAGS", help="as the API's exact_tags (a|b; repeatable)")
    command.add_argument("--match-tags", action="append", metavar="PATTERNS", help="as the API's match_tags")
    command.add_argument("--any-tags", action="append", metavar="TAGS", help="as the API's any_tags (OR)")
    command.add_argument("--exclude-tags", action="append", metavar="TAGS", help="as the API's exclude_tags (NOT)")
    command.add_argument(
        "--exclude-match-tags", action="append", metavar="PATTERNS", help="as the API's exclude_match_tags"
    )
    command.add_argument("--untagged", action="store_true", help="only images that carry no tag")
    command.add_argument("--start-timestamp", metavar="SECONDS", help="created at or after (seconds since the epoch)")
    command.add_argument("--end-timestamp", metavar="SECONDS", help="created at or before")
    command.add_argument("--uploaded-only", action="store_true", help="accepted for symmetry: only stored files are written")
    command.add_argument("--created-by", metavar="NAME", help="created by this principal")
    command.add_argument("--jobs", default="4", metavar="N", help="files written at once (default %(default)s)")
    add_remote_options(command)
    command.set_defaults(run=export_command)


def export_command(arguments: argparse.Namespace) -> int:
    jobs = configuration.whole_number("--jobs", arguments.jobs, minimum=1, maximum=256)
    catalog = open_catalog(arguments.url, arguments.token, arguments.data_dir)
    try:
        with Progress("export") as progress:
            Exporter(catalog, progress, Path(arguments.to)).run(filters(arguments), jobs)
    except CatalogError as error:  # the search itself was refused (a bad filter, a server away)
        raise ConfigError(f"the export stopped: {error}") from None
    except TimError as error:
        raise ConfigError(f"the export stopped: {error.message}") from None
    finally:
        catalog.close()
    progress.print_summary(EXPORTED)
    return 1 if progress.counts[FAILED] else 0


def filters(arguments: argparse.Namespace) -> dict[str, Any]:
    """The search filters, by the API's names."""
    return {
        "exact_tags": arguments.exact_tags,
        "match_tags": arguments.match_tags,
        "any_tags": arguments.any_tags,
        "exclude_tags": arguments.exclude_tags,
        "exclude_match_tags": arguments.exclude_match_tags,
        "untagged": "true" if arguments.untagged else None,
        "start_timestamp": arguments.start_timestamp,
        "end_timestamp": arguments.end_timestamp,
        "uploaded_only": "true",  # a pending record has no file to write
        "created_by": arguments.created_by,
    }


class Exporter:
    def __init__(self, catalog: Catalog, progress: Progress, folder: Path):
        self._catalog = catalog
        self._progress = progress
        self._folder = folder

    def run(self, wanted: Mapping[str, Any], jobs: int) -> None:
        (self._folder / FILES).mkdir(parents=True, exist_ok=True)
        manifest = self._folder / MANIFEST
        writing = manifest.with_name(MANIFEST + ".part")
        records = self._catalog.records(wanted)
        with writing.open("w", encoding="utf-8") as lines, ThreadPoolExecutor(max_workers=jobs) as pool:
            while page := list(islice(records, MAX_PAGE_SIZE)):
                self._progress.expect(page[0][0])
                for line in pool.map(self.one, [record for _, record in page]):
                    if line is not None:
                        lines.write(line + "\n")
            lines.flush()
            os.fsync(lines.fileno())
        os.replace(writing, manifest)

    def one(self, record: dict[str, Any]) -> str | None:
        """Write one record's file (unless it is there); its manifest line."""
        relative = Path(FILES) / file_name(record)
        name = str(relative)
        if record.get("uploaded_timestamp") is None:
            self._progress.done(PENDING, name=name, reason="its file is not stored yet")
            return None
        target = self._folder / relative
        try:
            if target.is_file() and target.stat().st_size == record["size"]:
                outcome = PRESENT
            else:
                record = record | {"sha256": self._write(record, target)}
                outcome = EXPORTED
        except (CatalogError, OSError, ValueError) as error:
            self._progress.done(FAILED, name=name, reason=str(error))
            return None
        self._progress.done(outcome, record["size"] if outcome == EXPORTED else 0)
        shown = {key: value for key, value in record.items() if key != "url"}
        return json.dumps(shown | {"path": relative.as_posix()}, ensure_ascii=False, separators=(",", ":"))

    def _write(self, record: Mapping[str, Any], target: Path) -> str:
        """The file written to `target` whole and checked, or nothing; its SHA-256."""
        partial = target.with_name(target.name + ".part")
        digest, size = hashlib.sha256(), 0
        try:
            with partial.open("wb") as file:
                for chunk in self._catalog.open_file(record):
                    digest.update(chunk)
                    size += len(chunk)
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            expected = record.get("sha256")
            if size != record["size"] or (expected is not None and digest.hexdigest() != expected):
                raise ValueError(f"the bytes read are not the stored file's ({size} bytes, SHA-256 {digest.hexdigest()})")
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return digest.hexdigest()


def file_name(record: Mapping[str, Any]) -> str:
    """`<id>-<filename>`: unique by the id, and recognisable; a long name is
    shortened in the middle, keeping its extension."""
    name = str(record["filename"]).replace("/", "_").replace("\\", "_")
    stem, dot, suffix = name.rpartition(".") if "." in name[1:] else (name, "", "")
    suffix = (dot + suffix)[:20]
    encoded = stem.encode("utf-8")
    if len(encoded) + len(suffix.encode()) > MAX_NAME_BYTES:
        stem = encoded[: MAX_NAME_BYTES - len(suffix.encode())].decode("utf-8", "ignore")
    return f"{record['id']}-{stem}{suffix}"
