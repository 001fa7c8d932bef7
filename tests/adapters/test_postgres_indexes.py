"""The searches tim runs on PostgreSQL use indexes, and the trigram index
gives the domain's answers.

The statements EXPLAINed are the ones the repository executes (from
tim.adapters.postgres.queries), on some 20k images and 5k tags: enough that a
sequential scan costs more than the right index, small enough to load fast.
"""

import hashlib

import psycopg
import pytest
from psycopg import sql
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_repository_contract import new_image
from strategies import patterns, tag_names
from tim.adapters.postgres.queries import Statement, count_images, page_of_images
from tim.adapters.postgres.repository import PostgresRepository
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TagPattern, TimeRange

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


def plan_nodes(url, statement: Statement) -> list[dict]:
    """Every node of the statement's plan, depth first."""
    with psycopg.connect(url) as conn:
        (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + statement.sql, statement.params).fetchone()[0]
    nodes, pending = [], [plan["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def indexes_used(nodes) -> set[str]:
    return {node["Index Name"] for node in nodes if "Index Name" in node}


def scanned_whole(nodes) -> set[str]:
    return {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}


def test_the_newest_page_reads_the_newest_index_in_order(loaded_url):
    nodes = plan_nodes(loaded_url, page_of_images(ImageQuery(), PageRequest(0, 100)))
    assert indexes_used(nodes) == {"images_newest"}
    assert not [node for node in nodes if node["Node Type"] == "Sort"]


def test_uploaded_only_and_date_ranges_use_the_newest_indexes(loaded_url):
    uploaded = plan_nodes(loaded_url, page_of_images(ImageQuery(uploaded_only=True), PageRequest()))
    assert "images_uploaded_newest" in indexes_used(uploaded) and not scanned_whole(uploaded)
    week = TimeRange(FIRST_TIMESTAMP + 100, FIRST_TIMESTAMP + 200)
    query = ImageQuery(time_range=week)
    for statement in (count_images(query), page_of_images(query, PageRequest())):
        nodes = plan_nodes(loaded_url, statement)
        assert "images_newest" in indexes_used(nodes) and not scanned_whole(nodes)


def test_a_tags_images_come_from_the_tag_index(loaded_url):
    query = ImageQuery(tag_id=17)
    for statement in (count_images(query), page_of_images(query, PageRequest())):
        nodes = plan_nodes(loaded_url, statement)
        assert "image_tags_by_tag" in indexes_used(nodes)
        assert not scanned_whole(nodes)


def test_exact_tags_are_found_by_name(loaded_url):
    query = ImageQuery(exact_tags=frozenset({"Tag " + hashlib.md5(b"17").hexdigest()}))
    nodes = plan_nodes(loaded_url, page_of_images(query, PageRequest()))
    assert {"tags_name_key", "image_tags_by_tag"} <= indexes_used(nodes)
    assert not scanned_whole(nodes)


def test_wildcard_patterns_use_the_trigram_index(loaded_url):
    middle = hashlib.md5(b"123").hexdigest()[4:12]
    for text in (f"%{middle}%", f"TAG %{middle}%"):
        query = ImageQuery(patterns=(TagPattern(text),))
        for statement in (count_images(query), page_of_images(query, PageRequest())):
            nodes = plan_nodes(loaded_url, statement)
            assert "tags_folded_trigrams" in indexes_used(nodes), text
            assert not scanned_whole(nodes), text


def test_literal_patterns_use_the_folded_name_index(loaded_url):
    query = ImageQuery(patterns=(TagPattern("TAG " + hashlib.md5(b"5").hexdigest().upper()),))
    nodes = plan_nodes(loaded_url, page_of_images(query, PageRequest()))
    assert "tags_alphabetical" in indexes_used(nodes) and not scanned_whole(nodes)


# Whether the trigram index itself gives the domain's answers, for names full
# of case-folding and LIKE traps, in a database where it is the only way to
# look tags up by pattern.

TRAPS = ["straße", "STRASSE", "İstanbul", "ΣΊΣΥΦΟς", "a_c", "abc", "A_C", "a\\bc", "a%b", "ǅungla", "x.y", "ab", "abab"]


@pytest.fixture(scope="module")
def indexed_only(postgres_databases):
    url = postgres_databases()
    with psycopg.connect(url, autocommit=True) as conn:
        # Only bitmap scans are left, and those need a condition an index can
        # take: a LIKE on tags can only go through the trigram index.
        database = sql.Identifier(conn.info.dbname)
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            conn.execute(sql.SQL("ALTER DATABASE {} SET {} = off").format(database, sql.Identifier(setting)))
    repository = PostgresRepository.open(url)
    names = TRAPS + [f"{trap} {n}" for n, trap in enumerate(TRAPS)]
    images = [repository.add_image(new_image(tags=(name,))) for name in names]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    yield url, repository, images
    repository.close()


def test_the_trigram_index_is_what_answers_there(indexed_only):
    url, _, _ = indexed_only
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW enable_seqscan").fetchone()[0] == "off"  # the setting took
    nodes = plan_nodes(url, page_of_images(ImageQuery(patterns=(TagPattern("%strasse%"),)), PageRequest()))
    assert "tags_folded_trigrams" in indexes_used(nodes)


@settings(max_examples=60)
@given(text=st.sampled_from(["%STRASSE%", "%ss%", "%ς%", "%i̇stan%", "a_c", "%\\%", "%_%", "ab%ab", "%%"]) | patterns)
def test_indexed_pattern_search_follows_the_domain(indexed_only, text):
    _, repository, images = indexed_only
    query = ImageQuery(patterns=(TagPattern(text),))
    found = repository.find_images(query, PageRequest(0, 100)).results
    assert found == tuple(query.select(images))


@settings(max_examples=30)
@given(name=st.sampled_from(TRAPS) | tag_names)
def test_indexed_exact_search_follows_the_domain(indexed_only, name):
    _, repository, images = indexed_only
    query = ImageQuery(exact_tags=frozenset({name}))
    assert repository.find_images(query, PageRequest(0, 100)).results == tuple(query.select(images))
