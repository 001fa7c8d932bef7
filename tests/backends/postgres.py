"""PostgreSQL for the contract suites and the adapter tests.

The server comes from TIM_TEST_POSTGRES_URL; every database made here is a
throw-away one (tim_test_<random hex>), dropped when the session ends. Each
new database costs the server some hundred files to write and sync, so tests
share one where they can.
"""

import os
import secrets
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tim.adapters.postgres.repository import PostgresRepository
from tim.adapters.postgres.tokens import PostgresTokenRepository

URL_VARIABLE = "TIM_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A URL of the test server (any database on it, for administration)."""
    from conftest import unavailable

    url = os.environ.get(URL_VARIABLE)
    if not url:
        unavailable(f"{URL_VARIABLE} is not set; e.g. {URL_VARIABLE}=postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.OperationalError as error:
        unavailable(f"the PostgreSQL server at {URL_VARIABLE} cannot be reached: {error}")
    return url


@pytest.fixture(scope="session")
def postgres_databases(postgres_server_url):
    """A factory of new, empty databases: each call returns a postgresql:// URL.
    All of them are dropped at the end of the session."""
    created: list[str] = []

    def create() -> str:
        name = f"tim_test_{secrets.token_hex(6)}"
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name))
            )
        created.append(name)
        return urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()

    yield create
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        for name in created:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_repository_url(postgres_databases) -> str:
    """The database behind postgres_repositories. Tests may open more
    repositories on it; each fresh repository empties it again."""
    return postgres_databases()


def emptied_each_time(store, url: str, tables: str):
    """A factory that hands out `store` (opened once for the session) after
    emptying its tables, ids restarting at 1 like the in-memory adapters'."""
    with psycopg.connect(url, autocommit=True) as admin:

        @contextmanager
        def fresh():
            admin.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            yield store

        yield fresh
    store.close()


@pytest.fixture(scope="session")
def postgres_repositories(postgres_repository_url):
    url = postgres_repository_url
    yield from emptied_each_time(PostgresRepository.open(url), url, "image_tags, images, tags, changes, history")


@pytest.fixture(scope="session")
def postgres_token_stores(postgres_repository_url):
    url = postgres_repository_url
    yield from emptied_each_time(PostgresTokenRepository.open(url), url, "api_tokens")
