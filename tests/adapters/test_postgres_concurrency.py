"""Concurrent writers on PostgreSQL, and ids that outlive deletes and restarts."""

import random
import threading

import pytest

from searchable import Searchable, v1_query
from contract.test_repository_contract import new_image
from tim.adapters.postgres.repository import PostgresRepository
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.paging import PageRequest

THREADS = 20
SHARED = ("Lung", "lung", "CT", "ß-scan", "x_ray")


@pytest.fixture
def wide_repository(postgres_repositories, postgres_repository_url):
    """An empty database, and a pool that lets every thread hold a connection at once."""
    with postgres_repositories():
        repository = Searchable(PostgresRepository.open(postgres_repository_url, max_connections=THREADS))
        yield repository
        repository.close()


def run_together(work):
    """Run work(n) on THREADS threads released at one moment; the errors raised."""
    start = threading.Barrier(THREADS)
    errors = []

    def run(n):
        start.wait()
        try:
            work(n)
        except Exception as error:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_twenty_writers_with_the_same_new_tags_in_any_order(wide_repository):
    def create(n):
        # Half the writers name the tags in the opposite order: that must not deadlock.
        names = list(SHARED) if n % 2 else list(reversed(SHARED))
        image = wide_repository.add_image(new_image(tags=[*names, f"own-{n}"]))
        random.Random(n).shuffle(names)
        wide_repository.set_image_tags(image.id, [*names, "later", f"own-{n}"])

    assert run_together(create) == []
    names = [tag.name for tag in wide_repository.list_tags(PageRequest()).results]
    assert sorted(names) == sorted(SHARED + ("later",) + tuple(f"own-{n}" for n in range(THREADS)))
    every_shared = v1_query(exact_tags=(SHARED))
    assert wide_repository.find_images(every_shared, PageRequest()).total_results == THREADS


def test_twenty_writers_adding_one_tag_name(wide_repository):
    won, taken = [], []

    def add(_):
        try:
            won.append(wide_repository.add_tag("contested"))
        except TagNameTaken as error:
            taken.append(error.existing)

    assert run_together(add) == []
    assert len(won) == 1 and taken == [won[0]] * (THREADS - 1)


def test_ids_are_not_reused_after_deletes_or_a_restart(postgres_repository_url):
    url = postgres_repository_url
    repository = Searchable(PostgresRepository.open(url))
    image = repository.add_image(new_image(tags=("gone",)))
    tag = image.tags[0]
    repository.delete_image(image.id)
    repository.delete_tag(tag.id)
    repository.close()

    repository = Searchable(PostgresRepository.open(url))
    try:
        again = repository.add_image(new_image(tags=("gone",)))
        assert again.id > image.id
        assert again.tags[0].id > tag.id
        assert repository.add_tag("another").id > again.tags[0].id
    finally:
        repository.close()
