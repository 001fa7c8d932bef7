"""Rows that reached PostgreSQL without tim (a restore, rows loaded with
COPY or INSERT ... SELECT) are searched like any others: a repository opened
on them builds its search index from the tables; a running one does after
a reindex. Reading a page of records uses indexes.

Some 20k images and 5k tags: enough that a sequential scan costs more than
the right index, small enough to load fast.
"""

import hashlib

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_repository_contract import new_image
from searchable import Searchable, v1_query
from strategies import conditions
from tim.adapters.postgres.repository import IMAGE_COLUMNS, PostgresRepository
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TimeRange

IMAGES = 20_000
TAGS = 5_000
FIRST_TIMESTAMP = 1_700_000_000


@pytest.fixture(scope="module")
def loaded_url(postgres_databases):
    """A database holding IMAGES images, each with two of TAGS tags."""
    url = postgres_databases()
    PostgresRepository.open(url).close()  # the schema
    with psycopg.connect(url) as conn:
        # Names like 'Tag 1f0e3dad...' whose folded form is 'tag 1f0e3dad...'
        # (ASCII only, so lower() here equals Python's casefold()).
        conn.execute(
            "INSERT INTO tags (name, folded_name)"
            " SELECT 'Tag ' || md5(n::text), 'tag ' || md5(n::text) FROM generate_series(1, %s) n",
            (TAGS,),
        )
        conn.execute(
            "INSERT INTO images (filename, size, created_by, created_timestamp, blob_key, uploaded_timestamp)"
            " SELECT 'scan-' || n || '.dcm', 1000, 'ana', %s + n, md5('key' || n),"
            "        CASE WHEN n %% 10 = 0 THEN NULL ELSE %s + n END"
            " FROM generate_series(1, %s) n",
            (FIRST_TIMESTAMP, FIRST_TIMESTAMP, IMAGES),
        )
        conn.execute(
            "INSERT INTO image_tags (image_id, tag_id)"
            " SELECT n, 1 + n %% %s FROM generate_series(1, %s) n"
            " UNION SELECT n, 1 + (n * 7) %% %s FROM generate_series(1, %s) n",
            (TAGS, IMAGES, TAGS, IMAGES),
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return url


@pytest.fixture(scope="module")
def loaded(loaded_url):
    """A repository opened on the loaded rows, and every record in it."""
    repository = Searchable(PostgresRepository.open(loaded_url))
    everything = []
    for number in range(IMAGES // 100 + 1):
        everything += repository.find_images(v1_query(), PageRequest(number, 100)).results
    yield repository, everything
    repository.close()


def test_every_loaded_image_is_found_newest_first(loaded):
    repository, everything = loaded
    assert len(everything) == IMAGES
    assert [image.id for image in everything] == list(range(IMAGES, 0, -1))


QUERIES = {
    "a tag": v1_query(tag_id=17),
    "an exact name": v1_query(exact_tags={"Tag " + hashlib.md5(b"17").hexdigest()}),
    "a wildcard": v1_query(patterns=[f"%{hashlib.md5(b'123').hexdigest()[4:12]}%"]),
    "a literal pattern": v1_query(patterns=["TAG " + hashlib.md5(b"5").hexdigest().upper()]),
    "uploaded in a week": v1_query(uploaded_only=True, time_range=TimeRange(FIRST_TIMESTAMP + 100, FIRST_TIMESTAMP + 9_000)),
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_searches_of_loaded_rows_follow_the_domain(loaded, query):
    repository, everything = loaded
    expected = query.select(everything)
    assert expected, "a query that finds nothing proves little"
    page = repository.find_images(query, PageRequest(0, 100))
    assert (page.total_results, page.results) == (len(expected), tuple(expected[:100]))


@settings(max_examples=30)
@given(condition=conditions(tag_ids=st.integers(1, 40)))
def test_any_query_on_loaded_rows_follows_the_domain(loaded, condition):
    repository, everything = loaded
    query = ImageQuery(condition)
    expected = query.select(everything)
    page = repository.find_images(query, PageRequest(1, 50))
    assert (page.total_results, page.results) == (len(expected), tuple(expected[50:100]))


def test_rows_loaded_while_a_repository_runs_are_found_after_a_reindex(postgres_databases):
    url = postgres_databases()
    repository = Searchable(PostgresRepository.open(url))
    try:
        repository.add_image(new_image(tags=("seen",)))
        assert repository.find_images(v1_query(), PageRequest()).total_results == 1
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO images (filename, size, created_by, created_timestamp, blob_key)"
                " SELECT 'x', 1, 'ana', 5 + n, md5('loaded' || n) FROM generate_series(1, 3) n"
            )
        assert repository.find_images(v1_query(), PageRequest()).total_results == 1  # tim cannot know yet
        repository.reindex()
        assert repository.find_images(v1_query(), PageRequest()).total_results == 4
    finally:
        repository.close()


def test_a_page_of_records_is_read_by_index(loaded_url):
    ids = list(range(5_000, 5_100))
    with psycopg.connect(loaded_url) as conn:
        for statement in (
            f"SELECT {IMAGE_COLUMNS} FROM images i WHERE i.id = ANY(%s)",
            "SELECT it.image_id, t.id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ANY(%s)",
        ):
            (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + statement, (ids,)).fetchone()[0]
            nodes, pending = [], [plan["Plan"]]
            while pending:
                node = pending.pop()
                nodes.append(node)
                pending.extend(node.get("Plans", []))
            assert not [node for node in nodes if node["Node Type"] == "Seq Scan" and node["Relation Name"] != "tags"], statement
