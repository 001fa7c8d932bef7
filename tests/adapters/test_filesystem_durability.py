"""The file blob store under stress: a big file in bounded memory, a process
killed in the middle of a put, a full disk and a read-only one."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tim.adapters.filesystem.blob_store import FileBlobStore
from tim.adapters.signed_urls import UrlSigner
from tim.domain.model.errors import NotFound, StorageUnavailable
from tim.domain.model.images import new_blob_key

SIGNER = UrlSigner(b"test-secret-of-at-least-16-bytes", "http://tim.test/v1/blobs")
MiB = 1024 * 1024
HOUR = 3600


def run_python(code: str, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], text=True, **popen)


STREAMING = """
    import hashlib, resource, sys
    from pathlib import Path
    from tim.adapters.filesystem.blob_store import FileBlobStore
    from tim.adapters.signed_urls import UrlSigner
    from tim.domain.model.images import new_blob_key

    MiB, COUNT = 1024 * 1024, 200
    written = hashlib.sha256()

    def chunks(count):
        for i in range(count):
            chunk = bytes([i % 256]) * MiB  # fresh memory every time, as from a socket
            written.update(chunk)
            yield chunk

    def peak_kib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    store = FileBlobStore(Path(sys.argv[1]), UrlSigner(b"x" * 16, "http://tim.test"))
    warm_up = new_blob_key()
    store.put(warm_up, chunks(3), 3 * MiB)  # a chunk or two in flight belong to the baseline
    b"".join(store.get(warm_up))
    written = hashlib.sha256()

    key = new_blob_key()
    before = peak_kib()
    store.put(key, chunks(COUNT), COUNT * MiB)
    after_put = peak_kib()
    read = hashlib.sha256()
    for chunk in store.get(key):
        read.update(chunk)
    after_get = peak_kib()
    print(store.stat(key) == COUNT * MiB, read.digest() == written.digest(), after_put - before, after_get - after_put)
"""


def test_a_200_mb_file_is_streamed_in_and_out_in_a_few_mb(tmp_path):
    child = run_python(STREAMING, str(tmp_path / "store"), stdout=subprocess.PIPE)
    output, _ = child.communicate()
    assert child.returncode == 0
    stored, intact, put_growth_kib, get_growth_kib = output.split()
    assert (stored, intact) == ("True", "True")
    assert int(put_growth_kib) < 8 * 1024, f"peak RSS grew by {put_growth_kib} KiB during a 200 MiB put"
    assert int(get_growth_kib) < 8 * 1024, f"peak RSS grew by {get_growth_kib} KiB reading 200 MiB"


KILLED_WRITER = """
    import sys, time
    from pathlib import Path
    from tim.adapters.filesystem.blob_store import FileBlobStore
    from tim.adapters.signed_urls import UrlSigner

    def arriving():
        yield b"x" * 1000
        print("half-way", flush=True)
        time.sleep(3600)  # the test kills this process here
        yield b"x" * 1000

    store = FileBlobStore(Path(sys.argv[1]), UrlSigner(b"x" * 16, "http://tim.test"))
    store.put(sys.argv[2], arriving(), 2000)
"""


def test_a_put_killed_half_way_leaves_no_object_and_its_temporary_is_swept(tmp_path):
    root, key = tmp_path / "store", new_blob_key()
    writer = run_python(KILLED_WRITER, str(root), key, stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline() == "half-way\n"
        store = FileBlobStore(root, SIGNER)  # opened while the other process writes
        (temporary,) = (root / "tmp").iterdir()
        assert temporary.stat().st_size == 1000
        an_hour_ago = temporary.stat().st_mtime - HOUR - 60
        os.utime(temporary, (an_hour_ago, an_hour_ago))
        assert store.remove_stale_temporaries(older_than=int(time.time()) - HOUR) == 0, "its writer lives"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
    assert writer.returncode == -signal.SIGKILL

    for reader in (store, FileBlobStore(root, SIGNER)):
        assert reader.stat(key) is None
        assert list(reader.objects()) == []
        with pytest.raises(NotFound):
            reader.get(key)
    assert temporary.exists()

    assert store.remove_stale_temporaries(older_than=int(time.time()) - HOUR) == 1
    assert list((root / "tmp").iterdir()) == []
    store.put(key, [b"y" * 2000], 2000)
    assert store.stat(key) == 2000


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 1 MiB tmpfs of our own, to fill up and to make read-only."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command: a full disk needs a tiny filesystem of our own")
    if mounted.returncode != 0:
        pytest.skip(
            "cannot mount a 1 MiB tmpfs (needs root and CAP_SYS_ADMIN; "
            f"mount said: {mounted.stderr.strip()}); a full or read-only disk cannot be faked "
            "faithfully, since ENOSPC can come from any write, the fsync or the rename"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_is_reported_as_unavailable_storage_and_leaves_nothing(tiny_filesystem):
    store, key = FileBlobStore(tiny_filesystem, SIGNER), new_blob_key()
    with pytest.raises(StorageUnavailable, match="No space left on device") as raised:
        store.put(key, (b"x" * 64 * 1024 for _ in range(32)), 2 * MiB)
    assert str(tiny_filesystem) in raised.value.message
    assert store.stat(key) is None
    assert list((tiny_filesystem / "tmp").iterdir()) == []
    # The partial file's space is free again: nearly the whole disk can be used.
    store.put(key, [b"y" * 900 * 1024], 900 * 1024)
    assert store.stat(key) == 900 * 1024


def test_a_read_only_disk_is_reported_as_unavailable_storage(tiny_filesystem):
    store, kept = FileBlobStore(tiny_filesystem, SIGNER), new_blob_key()
    store.put(kept, [b"kept"], 4)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_filesystem)], check=True)

    with pytest.raises(StorageUnavailable, match="Read-only file system"):
        store.put(new_blob_key(), [b"new"], 3)
    with pytest.raises(StorageUnavailable, match="Read-only file system"):
        store.delete(kept)
    reopened = FileBlobStore(tiny_filesystem, SIGNER)
    assert b"".join(reopened.get(kept)) == b"kept"
    assert [o.key for o in reopened.objects()] == [kept]
