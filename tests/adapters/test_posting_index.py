"""The search index on its own: following the feed gives what a fresh build
gives (pages, keyset pages, tag records with counts and aliases, alias
resolution), whatever the order images arrive in, after a trim or a reindex."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import pooled_name_lists, pooled_names, timestamps

from contract.test_differential import apply, ids, operations
from contract.test_repository_contract import new_image
from searchable import Searchable
from tim.adapters.memory import repository as memory_repository
from tim.adapters.memory.repository import MemoryRepository
from tim.adapters.postings.index import PostingIndex
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import CreatedBy, CreatedIn, HasTag, HasTagId, ImageQuery, TimeRange, Untagged, Uploaded
from tim.domain.model.tags import TagListing


def everything_the_index_knows(repository, index):
    """What every kind of leaf selects, newest first, for every name (aliases
    too) and id there is; pages after keys; every tag's record and listing."""
    with repository.read() as view:
        names = [tag.name for tag in view.tags()] + [alias for alias, _ in view.aliases()]
        ids = [tag.id for tag in view.tags()]
        probes = [ImageQuery(), ImageQuery(Untagged()), ImageQuery(Uploaded()), ImageQuery(CreatedBy("ana"))]
        probes += [ImageQuery(HasTag(name)) for name in names] + [ImageQuery(HasTagId(tag_id)) for tag_id in ids]
        probes += [ImageQuery(CreatedIn(TimeRange(1_000 + n, 1_003 + n))) for n in range(0, 10, 3)]
        pages = [index.search(view, probe, PageRequest()) for probe in probes]
        pages += [index.search(view, ImageQuery(), PageRequest.following((1_005, n), 3)) for n in range(0, 12, 4)]
        records = sorted(index.tag_records(view), key=lambda record: record.id)
        listings = [index.tags(view, TagListing(prefix), PageRequest()) for prefix in (None, "", "l", "s")]
        return pages, records, listings


@settings(max_examples=40)
@given(script=st.lists(operations, max_size=40))
def test_following_the_feed_gives_what_a_fresh_build_gives(repositories, script):
    with repositories() as repository:
        repository.find_images(ImageQuery(), PageRequest())  # built now, empty: all that follows comes by the feed
        for operation in script:
            apply(repository, operation)
        followed = everything_the_index_knows(repository, repository.index)
        assert followed == everything_the_index_knows(repository, PostingIndex())


# Mostly what changes tags: merges, aliases, renames and deletes meet images that carry them.
tag_changes = st.one_of(
    st.tuples(st.just("add_image"), timestamps, pooled_name_lists, st.booleans(), st.just("ana")),
    st.tuples(st.just("merge_tags"), ids, ids),
    st.tuples(st.just("remove_alias"), ids, pooled_names),
    st.tuples(st.just("rename_tag"), ids, pooled_names),
    st.tuples(st.just("delete_tag"), ids),
    st.tuples(st.just("edit_image_tags"), st.lists(ids, min_size=1, max_size=3, unique=True), *[pooled_name_lists] * 2),
)


@settings(max_examples=40)
@given(script=st.lists(tag_changes, min_size=5, max_size=30))
def test_merges_and_aliases_followed_give_what_a_fresh_build_gives(repositories, script):
    with repositories() as repository:
        repository.find_images(ImageQuery(), PageRequest())
        for operation in script:
            apply(repository, operation)
        followed = everything_the_index_knows(repository, repository.index)
        assert followed == everything_the_index_knows(repository, PostingIndex())


@settings(max_examples=40)
@given(created=st.lists(st.integers(1_000, 1_020), min_size=1, max_size=40), seed=st.integers(0, 10))
def test_images_arriving_out_of_order_take_their_place(created, seed):
    """Two writers crossing a second, or clocks that disagree: an image can
    arrive with an earlier created_timestamp than one that came before it."""
    repository = Searchable(MemoryRepository())
    chance = random.Random(seed)
    repository.add_image(new_image(created=1_010, tags=("first",)))
    repository.find_images(ImageQuery(), PageRequest())  # built: what follows arrives through the feed
    for timestamp in created:
        image = repository.add_image(new_image(created=timestamp, tags=chance.sample(["a", "b", "c"], chance.randint(0, 2))))
        if chance.random() < 0.2:
            repository.delete_image(image.id)
    every = repository.find_images(ImageQuery(), PageRequest()).results
    assert [image.newest_first_key for image in every] == sorted(image.newest_first_key for image in every)
    for query in (ImageQuery(), ImageQuery(HasTag("a")), ImageQuery(Untagged())):
        for number in range(3):
            assert repository.find_images(query, PageRequest(number, 7)) == PageRequest(number, 7).slice(query.select(every))
    assert everything_the_index_knows(repository, repository.index) == everything_the_index_knows(repository, PostingIndex())


def test_a_follower_the_feed_left_behind_rebuilds(monkeypatch):
    monkeypatch.setattr(memory_repository, "FEED_KEPT", 4)
    repository = Searchable(MemoryRepository())
    repository.add_image(new_image(tags=("a",)))
    assert repository.find_images(ImageQuery(HasTag("a")), PageRequest()).total_results == 1
    for _ in range(20):
        repository.add_image(new_image(tags=("a",)))
    with repository.read() as view:
        assert view.changes_after(0, 100)[0].seq > 2  # trimmed past the follower
    assert repository.find_images(ImageQuery(HasTag("a")), PageRequest()).total_results == 21


def test_a_reindex_makes_every_follower_rebuild():
    repository = MemoryRepository()
    first, second = Searchable(repository), Searchable(repository)
    first.add_image(new_image(tags=("a",)))
    for searcher in (first, second):
        assert searcher.find_images(ImageQuery(), PageRequest()).total_results == 1
    position = repository.reindex()
    with repository.read() as view:
        assert view.feed_position() == position and view.changes_after(0, 10) == []
    for searcher in (first, second):
        assert searcher.find_images(ImageQuery(HasTag("a")), PageRequest()).total_results == 1
        assert searcher.index._lists.position == position


@settings(max_examples=40)
@given(script=st.lists(operations, max_size=30))
def test_the_records_a_search_serves_are_never_stale(repositories, script):
    """The index keeps records it served (for pages that show them again):
    after any change, what a search serves is what a read by id gives."""
    with repositories() as repository:
        for operation in script:
            apply(repository, operation)
            served = repository.find_images(ImageQuery(), PageRequest()).results
            assert list(served) == [repository.get_image(image.id) for image in served], operation


def test_an_id_that_commits_after_a_later_one_takes_its_hole_without_a_rebuild():
    """PostgreSQL hands out ids when rows are inserted, not when they commit:
    image 3 can be seen after image 4. Its place is waiting for it."""
    from tim.adapters.postings.order import Order, shift_from

    order, _ = Order.build([1, 2, 4], [100, 100, 101])  # ids follow time: positions are the ids; 0 and 3 are holes
    for image_id, created, placed in [(3, 100, (3, None)), (5, 99, (0, None)), (6, 99, (1, 1))]:
        assert order.insert(image_id, created) == placed  # a hole that fits, or the positions after move up
        if placed[1] is not None:
            shift_from(order.alive, placed[1])
        order.alive.add(placed[0])
    assert list(zip(order.created, order.ids)) == sorted(zip(order.created, order.ids))
    assert [order.ids[p] for p in order.alive] == [5, 6, 1, 2, 3, 4]
def test_a_merged_tags_aliases_move_with_it(repositories):
    """Tag b merged into a, then a into c: b and a both mean c, by the feed as by a build."""
    with repositories() as repository:
        repository.find_images(ImageQuery(), PageRequest())
        image = repository.add_image(new_image(tags=("a", "b")))
        c = repository.add_tag("c")
        a, b = sorted(image.tags, key=lambda tag: tag.name)
        repository.merge_tags(b.id, a.id)
        repository.merge_tags(a.id, c.id)
        for name in ("a", "b", "c"):
            assert [found.id for found in repository.find_images(ImageQuery(HasTag(name)), PageRequest()).results] == [image.id]
        with repository.read() as view:
            assert [(r.name, r.image_count, r.aliases) for r in repository.index.tag_records(view)] == [("c", 1, ("a", "b"))]
        followed = everything_the_index_knows(repository, repository.index)
        assert followed == everything_the_index_knows(repository, PostingIndex())
