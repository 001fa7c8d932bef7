"""`tim import PATH...`: files and folders into tim, tagged, each file once.

Every file is hashed first: one whose SHA-256 tim already has is a
duplicate and is not sent (unless --allow-duplicates), so running the same
import twice adds nothing. An interrupted run resumes where it stopped: a
file it had stored is a duplicate now; one whose record it had made but
whose upload had not been confirmed (remote imports make the record first)
is found by its declared SHA-256 and finished. Files that cannot be
imported are reported and the run goes on; the exit status says whether
any failed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from attrs import frozen

from tim.domain.model.facts import DICOM, DICOM_ALLOWLIST, HEAD_BYTES, OCTET_STREAM, DicomAttributes, sniff_media_type
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import ConfigError, open_dicom_headers
from tim.entrypoints.catalogs import CHUNK, Catalog, CatalogError, add_remote_options, open_catalog
from tim.entrypoints.progress import Progress
from tim.ports.imaging import DicomHeaders

IMPORTED, DUPLICATE, SKIPPED, FAILED = "imported", "duplicates", "skipped", "failed"


@frozen
class Source:
    path: Path
    root: Path  # the PATH it was found under (folder tags are the folders between)


@frozen
class Labels:
    """What a manifest says of one file."""

    tags: tuple[str, ...] = ()
    filename: str | None = None


def add_import(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "import",
        help="import files and folders, tagged, each file once",
        description="Import image files (folders are walked) into the local stores (the TIM_* settings, as for "
        "`tim serve`) or, with --url, into a running tim. Files whose bytes tim has already are skipped as "
        "duplicates, so an interrupted import is resumed by running it again.",
    )
    command.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder to import every file under")
    command.add_argument("--tag", action="append", default=[], metavar="NAME", help="a tag for every file (repeatable)")
    command.add_argument(
        "--tags-from-folders", action="store_true", help="tag each file with the folder names between PATH and it"
    )
    command.add_argument(
        "--manifest",
        metavar="FILE",
        help="tags (and file names) by path: a .csv with columns path, tags (pipe-delimited) and optionally "
        "filename, or a .jsonl of {path, tags, filename} (as `tim export` writes); paths relative to the manifest",
    )
    command.add_argument(
        "--dicom-tags",
        metavar="NAMES",
        help="tag DICOM files with these header attributes, as NAME:VALUE (e.g. Modality,BodyPartExamined -> "
        f"Modality:CT); any of {', '.join(DICOM_ALLOWLIST)}",
    )
    command.add_argument("--jobs", default="4", metavar="N", help="files imported at once (default %(default)s)")
    command.add_argument("--allow-duplicates", action="store_true", help="import files whose bytes tim already has")
    add_remote_options(command)
    command.set_defaults(run=import_command)


def import_command(arguments: argparse.Namespace) -> int:
    jobs = configuration.whole_number("--jobs", arguments.jobs, minimum=1, maximum=256)
    dicom_tags = tuple(name.strip() for name in (arguments.dicom_tags or "").split(",") if name.strip())
    unknown = [name for name in dicom_tags if name not in DICOM_ALLOWLIST]
    if unknown:
        raise ConfigError(f"--dicom-tags takes {', '.join(DICOM_ALLOWLIST)}; not {', '.join(unknown)}")
    manifest: dict[Path, Labels] = {}
    leave_out: set[Path] = set()
    if arguments.manifest:
        try:
            manifest = read_manifest(Path(arguments.manifest))
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the manifest {arguments.manifest}: {error}") from None
        leave_out.add(Path(arguments.manifest).resolve())
    catalog = open_catalog(arguments.url, arguments.token, arguments.data_dir)
    try:
        with Progress("import") as progress:
            importer = Importer(
                catalog,
                progress,
                tags=tuple(arguments.tag),
                tags_from_folders=arguments.tags_from_folders,
                manifest=manifest,
                dicom_tags=dicom_tags,
                dicom_headers=open_dicom_headers() if dicom_tags else None,
                allow_duplicates=arguments.allow_duplicates,
            )
            importer.run(list(sources(arguments.paths, leave_out)), jobs)
    finally:
        catalog.close()
    progress.print_summary(IMPORTED)
    return 1 if progress.counts[FAILED] else 0


class Importer:
    def __init__(
        self,
        catalog: Catalog,
        progress: Progress,
        *,
        tags: tuple[str, ...] = (),
        tags_from_folders: bool = False,
        manifest: Mapping[Path, Labels] | None = None,
        dicom_tags: tuple[str, ...] = (),
        dicom_headers: DicomHeaders | None = None,
        allow_duplicates: bool = False,
    ):
        self._catalog = catalog
        self._progress = progress
        self._tags = tags
        self._tags_from_folders = tags_from_folders
        self._manifest = manifest or {}
        self._dicom_tags = dicom_tags
        self._dicom_headers = dicom_headers
        self._allow_duplicates = allow_duplicates
        # Digests taken by this run: two copies of one file in it are one import.
        self._claimed: set[str] = set()
        self._claiming = threading.Lock()

    def run(self, sources: list[Source], jobs: int) -> None:
        self._progress.expect(len(sources), sum(_size(source.path) for source in sources))
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tim-import") as pool:
            running: set[Future[None]] = set()
            for source in sources:
                if len(running) >= 2 * jobs:  # a bounded queue: memory stays flat however many files
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                running.add(pool.submit(self.one, source))
            for future in running:
                future.result()

    def one(self, source: Source) -> None:
        name = str(source.path)
        try:
            outcome, size, reason = self._import(source)
        except CatalogError as error:
            outcome, size, reason = FAILED, 0, str(error)
        except OSError as error:
            outcome, size, reason = FAILED, 0, f"cannot read it: {error.strerror or error}"
        self._progress.done(outcome, size, name=name, reason=reason, listed=outcome != DUPLICATE)

    def _import(self, source: Source) -> tuple[str, int, str]:
        size = source.path.stat().st_size
        limit = self._catalog.max_image_bytes
        if size == 0:
            return SKIPPED, 0, "an empty file"
        if limit is not None and size > limit:
            return FAILED, 0, f"over the size limit ({size} bytes, at most {limit})"
        sha256, head = _fingerprint(source.path)
        content_type = sniff_media_type(head)
        if content_type == OCTET_STREAM:
            return SKIPPED, 0, "not an image (no DICOM, PNG, JPEG, TIFF, GIF, WebP or BMP signature)"
        labels = self._manifest.get(source.path.resolve(), Labels())
        tags = [*self._tags, *self._folder_tags(source), *labels.tags, *self._dicom_tags_of(content_type, head)]
        filename = labels.filename or source.path.name
        with self._claiming:
            repeated = sha256 in self._claimed
            self._claimed.add(sha256)
        if repeated and not self._allow_duplicates:
            return DUPLICATE, 0, "the same bytes as another file of this import"
        found = [] if self._allow_duplicates else self._catalog.with_sha256(sha256)
        stored = [record for record in found if record.get("uploaded_timestamp") is not None]
        if stored:
            return DUPLICATE, 0, f"tim has these bytes already (image {stored[-1]['id']})"
        arguments = {"filename": filename, "size": size, "sha256": sha256, "tags": list(dict.fromkeys(tags))}
        if found:  # left pending by an interrupted run: finish it
            self._catalog.finish(found[-1], source.path, **arguments)
        else:
            self._catalog.add(source.path, **arguments)
        return IMPORTED, size, ""

    def _folder_tags(self, source: Source) -> list[str]:
        if not self._tags_from_folders:
            return []
        try:
            return list(source.path.parent.relative_to(source.root).parts)
        except ValueError:
            return []

    def _dicom_tags_of(self, content_type: str, head: bytes) -> list[str]:
        if not self._dicom_tags or content_type != DICOM or self._dicom_headers is None:
            return []
        found = self._dicom_headers.read(head)
        attributes = DicomAttributes.allowed(found or {}).as_dict()
        return [f"{name}:{attributes[name]}" for name in self._dicom_tags if name in attributes]


def _fingerprint(path: Path) -> tuple[str, bytes]:
    digest, head = hashlib.sha256(), bytearray()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
    return digest.hexdigest(), bytes(head)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def sources(paths: list[str], leave_out: set[Path]) -> Iterator[Source]:
    """Every file under the paths, in name order (folders walked, symbolic
    links to folders not followed), less `leave_out` (the manifest)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, folders, files in os.walk(path):
                folders.sort()
                for name in sorted(files):
                    found = Path(folder) / name
                    if found.resolve() not in leave_out:
                        yield Source(found, path)
        elif path.resolve() not in leave_out:
            yield Source(path, path.parent)  # a missing file is reported when it is read


def read_manifest(path: Path) -> dict[Path, Labels]:
    """The tags (and file names) a manifest gives, by resolved path. Raises
    ValueError naming the line at fault."""
    base = path.resolve().parent
    labels: dict[Path, Labels] = {}
    with path.open(newline="", encoding="utf-8") as file:
        if path.suffix.lower() == ".csv":
            rows: Iterator[tuple[int, Mapping[str, Any]]] = enumerate(csv.DictReader(file), start=2)
        else:
            rows = ((number, _json_line(line, number)) for number, line in enumerate(file, start=1) if line.strip())
        for number, row in rows:
            where = row.get("path")
            if not isinstance(where, str) or not where:
                raise ValueError(f"{path}, line {number}: no path")
            labels[(base / where).resolve()] = Labels(_tag_names(row.get("tags"), f"{path}, line {number}"), row.get("filename") or None)
    return labels


def _json_line(line: str, number: int) -> Mapping[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:
        raise ValueError(f"line {number} is not JSON") from None
    if not isinstance(row, dict):
        raise ValueError(f"line {number} is not a JSON object")
    return row


def _tag_names(value: Any, where: str) -> tuple[str, ...]:
    """Tags as `a|b` text (CSV), or a list of names or of {"name": ...} (as export writes them)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(name for name in value.split("|") if name.strip())
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else item for item in value]
        if all(isinstance(name, str) for name in names):
            return tuple(names)
    raise ValueError(f"{where}: tags must be pipe-delimited text or a list of names")
