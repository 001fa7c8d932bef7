"""A client that goes away stops the work of its request: the database
statement under way is cancelled, not left to run to its timeout."""

import socket
import time
from contextlib import contextmanager

import httpx
import psycopg

from e2e.http_servers import json_of, serving
from tim.adapters.memory.blob_store import MemoryBlobStore
from tim.adapters.postgres.repository import PostgresRepository, PostgresView
from tim.adapters.signed_urls import UrlSigner
from tim.entrypoints.bootstrap import assemble
from tim.entrypoints.http.access_log import AccessLogSink
from tim.entrypoints.http.app import create_app

SLEEP = "SELECT pg_sleep(20)"


class SlowView(PostgresView):
    """Every search first waits on the database, long."""

    def feed_position(self):
        if SlowView.slow:
            self._conn.execute(SLEEP)
        return super().feed_position()

    slow = True


class SlowRepository(PostgresRepository):
    def read(self):
        return _slow_read(self)





@contextmanager
def _slow_read(repository):
    with repository._transaction(snapshot=True) as conn:
        yield SlowView(conn, repository._build_timeout_seconds)


def sleeping(url) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        (count,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query = %s AND state = 'active'", (SLEEP,)).fetchone()
    return count


def test_a_search_whose_client_left_stops_on_the_database(postgres_databases, tmp_path):
    url = postgres_databases()
    log = tmp_path / "access.log"

    def open_manager():
        repository = SlowRepository.open(url, statement_timeout_seconds=60)
        return assemble(repository, MemoryBlobStore(UrlSigner(b"abandoned-reads-secret-0123", "http://x/v1/blobs")))

    SlowView.slow = False  # the lifespan's first look at the index is quick
    with serving(create_app(open_manager, access_log=AccessLogSink(str(log)))) as server:
        SlowView.slow = True
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(b"GET /v1/images HTTP/1.1\r\nHost: tim\r\n\r\n")
            deadline = time.monotonic() + 10
            while sleeping(url) == 0:
                assert time.monotonic() < deadline, "the search never reached the database"
                time.sleep(0.05)
        began = time.monotonic()
        while sleeping(url):
            assert time.monotonic() - began < 5, "the abandoned statement still runs"
            time.sleep(0.05)
        SlowView.slow = False
        assert json_of(httpx.get(f"{server.origin}/v1/images", timeout=10), 200)["meta"]["total_results"] == 0
    lines = log.read_text().splitlines()
    assert "status=499" in lines[0] and "path=/v1/images" in lines[0]
