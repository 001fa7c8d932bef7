"""Random operations give the same results on every repository as on the
in-memory one, which applies the domain rules directly."""

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_repository_contract import new_image
from strategies import patterns, tag_lists, tag_names, timestamps
from tim.adapters.memory.repository import MemoryRepository
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TagPattern, TimeRange

ids = st.integers(1, 8)
operations = st.one_of(
    st.tuples(st.just("add_image"), timestamps, tag_lists, st.booleans()),
    st.tuples(st.just("set_image_tags"), ids, tag_lists),
    st.tuples(st.just("mark_uploaded"), ids, timestamps),
    st.tuples(st.just("delete_image"), ids),
    st.tuples(st.just("add_tag"), tag_names),
    st.tuples(st.just("rename_tag"), ids, tag_names),
    st.tuples(st.just("delete_tag"), ids),
    st.tuples(st.just("get_image"), ids),
    st.tuples(st.just("list_tags"), st.integers(0, 3), st.integers(1, 4)),
    st.tuples(
        st.just("find_images"),
        st.frozensets(tag_names, max_size=2),
        st.lists(patterns, max_size=2),
        st.none() | timestamps,
        st.booleans(),
        st.integers(0, 3),
        st.integers(1, 4),
    ),
)


def apply(repository, operation):
    name, *args = operation
    try:
        if name == "add_image":
            created, tags, uploaded = args
            result = repository.add_image(new_image(created=created, tags=tags, uploaded=created if uploaded else None))
            return result.id, result.tags, result.uploaded_timestamp
        if name == "find_images":
            exact, pattern_texts, start, uploaded_only, page, limit = args
            query = ImageQuery(frozenset(exact), tuple(map(TagPattern, pattern_texts)), TimeRange(start, None), uploaded_only)
            return strip_keys(repository.find_images(query, PageRequest(page, limit)))
        if name == "list_tags":
            return repository.list_tags(PageRequest(*args))
        return strip_keys(getattr(repository, name)(*args))
    except TagNameTaken as taken:
        return ("taken", taken.existing)


def strip_keys(result):
    """Blob keys are random per run; everything else must agree."""
    from attrs import evolve

    from tim.domain.model.images import ImageRecord
    from tim.domain.model.paging import Page

    if isinstance(result, ImageRecord):
        return evolve(result, blob_key="")
    if isinstance(result, Page):
        return result.map(strip_keys)
    return result


@settings(max_examples=30)
@given(st.lists(operations, max_size=25))
def test_every_repository_agrees_with_the_in_memory_one(repositories, script):
    reference = MemoryRepository()
    with repositories() as repository:
        for operation in script:
            assert apply(repository, operation) == apply(reference, operation), operation
        final = ImageQuery()
        assert strip_keys(repository.find_images(final, PageRequest())) == strip_keys(reference.find_images(final, PageRequest()))
