"""The file blob store beyond the shared contract: the layout on disk, keys
that cannot escape the root, chunked reads and nothing left by a failed put."""

import os
import stat
import time
from pathlib import Path

import pytest

from tim.adapters.filesystem.blob_store import CHUNK_SIZE, FileBlobStore
from tim.adapters.signed_urls import UrlSigner
from tim.domain.model.errors import NotFound, SizeMismatch
from tim.domain.model.images import new_blob_key

SIGNER = UrlSigner(b"test-secret-of-at-least-16-bytes", "http://tim.test/v1/blobs")


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root) -> FileBlobStore:
    return FileBlobStore(root, SIGNER)


def files_under(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_objects_are_files_in_a_shard_folder_no_one_else_can_write(store, root):
    key = new_blob_key()
    store.put(key, [b"hello ", b"world"], 11)
    path = root / "objects" / key[:2] / key
    assert path.read_bytes() == b"hello world"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & (stat.S_IWGRP | stat.S_IRWXO) == 0, oct(mode)
    assert list((root / "tmp").iterdir()) == []


OUTSIDE = "{tmp}/outside"
HOSTILE_KEYS = [
    "../outside",
    "../../outside",
    OUTSIDE,  # an absolute path
    "ab/../../../outside",
    "0123456789abcdef/123456789abcdef",  # 32 characters with a slash
    "0123456789ABCDEF0123456789ABCDEF",  # upper case
    "0123456789abcdef0123456789abcde",  # 31
    "0123456789abcdef0123456789abcdef0",  # 33
    "0123456789abcdef0123456789abcdef\n",
    "٠١٢٣٤٥٦٧٨٩abcdef0123456789abcdef",  # digits, but not ASCII ones
    "\x00" * 32,
    "..",
    "",
]


@pytest.mark.parametrize("hostile", HOSTILE_KEYS)
def test_a_key_tim_did_not_make_names_nothing(tmp_path, store, root, hostile):
    key = hostile.replace("{tmp}", str(tmp_path))
    # Plant a file where a store that trusted the key would look.
    naive = Path(os.path.normpath(root / "objects" / key[:2] / key)) if "\x00" not in key else None
    planted = naive is not None and naive.is_relative_to(tmp_path) and not naive.exists()
    if planted:
        naive.parent.mkdir(parents=True, exist_ok=True)
        naive.write_bytes(b"not yours")
    before = files_under(tmp_path)

    assert store.stat(key) is None
    with pytest.raises(NotFound):
        store.get(key)
    store.delete(key)
    with pytest.raises(ValueError, match="not an object key"):
        store.put(key, [b"evil"], 4)

    assert files_under(tmp_path) == before
    assert list(store.objects()) == []
    if planted:
        assert naive.read_bytes() == b"not yours"


def test_get_fails_at_the_call_and_reads_in_chunks_of_a_mebibyte(store):
    with pytest.raises(NotFound):
        store.get(new_blob_key())  # not iterated: the error comes from the call itself
    key, data = new_blob_key(), os.urandom(2 * CHUNK_SIZE + 1000)
    store.put(key, [data], len(data))
    chunks = list(store.get(key))
    assert [len(c) for c in chunks] == [CHUNK_SIZE, CHUNK_SIZE, 1000]
    assert b"".join(chunks) == data
    # A range is read from its start, a mebibyte at a time, and no further.
    start, end = CHUNK_SIZE - 10, 2 * CHUNK_SIZE + 20
    baseline = open_descriptors()
    chunks = list(store.get(key, start, end))
    assert [len(c) for c in chunks] == [CHUNK_SIZE, 30] and b"".join(chunks) == data[start:end]
    assert open_descriptors() == baseline  # closed once the range is read


def test_the_file_is_closed_when_read_closed_or_dropped(store):
    key = new_blob_key()
    store.put(key, [b"x" * 10], 10)
    baseline = open_descriptors()

    reader = store.get(key)
    assert open_descriptors() == baseline + 1
    assert b"".join(reader) == b"x" * 10
    assert open_descriptors() == baseline

    reader = store.get(key)
    next(reader)
    reader.close()
    assert open_descriptors() == baseline
    assert list(reader) == []

    with store.get(key) as reader:
        next(reader)
    assert open_descriptors() == baseline

    store.get(key)  # dropped unread, as by a client that went away
    assert open_descriptors() == baseline


def test_a_reader_never_sees_an_object_that_is_still_arriving(store, root):
    key = new_blob_key()
    seen = []

    def arriving():
        yield b"x" * 100
        seen.append((store.stat(key), list(store.objects()), len(list((root / "tmp").iterdir()))))
        with pytest.raises(NotFound):
            store.get(key)
        yield b"y" * 100

    store.put(key, arriving(), 200)
    assert seen == [(None, [], 1)]
    assert store.stat(key) == 200


def failing():
    yield b"x" * 10
    raise ConnectionResetError("client went away")


@pytest.mark.parametrize(
    ("source", "size", "error"),
    [
        (failing, 20, ConnectionResetError),
        (lambda: iter([b"0123", b"4567", b"89"]), 9, SizeMismatch),
        (lambda: iter([b"0123", b"4567", b"89"]), 11, SizeMismatch),
        (lambda: iter([]), 1, SizeMismatch),
    ],
)
def test_a_failed_put_leaves_nothing_behind(store, root, source, size, error):
    key = new_blob_key()
    with pytest.raises(error):
        store.put(key, source(), size)
    assert files_under(root) == {}
    assert store.stat(key) is None


def test_a_put_stops_reading_as_soon_as_the_body_runs_over(store, root):
    source = iter([b"0123"] * 1000)  # finite, so that a regression cannot fill the disk
    with pytest.raises(SizeMismatch):
        store.put(new_blob_key(), source, 10)
    assert len(list(source)) == 997  # three chunks read, the rest untouched
    assert files_under(root) == {}


def test_an_empty_file_is_an_object_too(store):
    key = new_blob_key()
    store.put(key, [], 0)
    assert store.stat(key) == 0
    assert b"".join(store.get(key)) == b""
    assert [(o.key, o.size) for o in store.objects()] == [(key, 0)]


def test_objects_lists_only_well_placed_objects_with_their_size_and_time(store, root):
    keys = sorted(new_blob_key() for _ in range(5))
    for size, key in enumerate(keys):
        store.put(key, [b"z" * size], size)
    os.utime(root / "objects" / keys[0][:2] / keys[0], (1_700_000_000.7, 1_700_000_000.7))
    # Strays a person or another program may leave: never offered to a sweep.
    stray_shard = "00" if keys[0][:2] != "00" else "01"
    (root / "objects" / stray_shard).mkdir(exist_ok=True)
    (root / "objects" / stray_shard / keys[0]).write_bytes(b"in the wrong shard")
    (root / "objects" / keys[1][:2] / "notes.txt").write_text("not an object")
    (root / "objects" / "README").write_text("not a shard")

    listed = list(store.objects())
    assert [(o.key, o.size) for o in listed] == list(zip(keys, range(5)))
    assert listed[0].modified_timestamp == 1_700_000_000
    assert all(isinstance(o.modified_timestamp, int) for o in listed)


def test_reopening_keeps_every_object(root):
    key = new_blob_key()
    FileBlobStore(root, SIGNER).put(key, [b"kept"], 4)
    assert b"".join(FileBlobStore(root, SIGNER).get(key)) == b"kept"


def test_the_sweep_removes_old_temporaries_no_writer_holds(store, root):
    now = int(time.time())
    leftover = root / "tmp" / f"{new_blob_key()}.abc.part"  # as a killed process leaves it
    leftover.write_bytes(b"half")
    os.utime(leftover, (now - 7200, now - 7200))
    young = root / "tmp" / f"{new_blob_key()}.def.part"
    young.write_bytes(b"just made")
    writer = store.open_writer(new_blob_key(), 10)
    writer.write(b"slow")
    [writing] = [p for p in (root / "tmp").iterdir() if p not in (leftover, young)]
    os.utime(writing, (now - 7200, now - 7200))  # untouched for long, but its writer lives

    assert store.remove_stale_temporaries(older_than=now - 3600) == 1
    assert sorted((root / "tmp").iterdir()) == sorted([young, writing])
    assert store.remove_stale_temporaries(older_than=now + 3600) == 1  # any age: only the held one stays
    assert list((root / "tmp").iterdir()) == [writing]
    writer.write(b"ly..")
    writer.abort()
    assert list((root / "tmp").iterdir()) == []
