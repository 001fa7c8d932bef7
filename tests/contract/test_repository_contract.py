"""One contract for every repository: the domain rules are the oracle."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import image_specs, patterns, tag_names, timestamps
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.images import NewImage, new_blob_key
from tim.domain.model.paging import PageRequest
from searchable import v1_query
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import ImageQuery, TimeRange
from tim.domain.model.tags import sorted_tags


def new_image(created=1_000, tags=(), uploaded=None, filename="scan.dcm", size=10, created_by="ana"):
    return NewImage(
        filename=filename,
        size=size,
        created_by=created_by,
        created_timestamp=created,
        blob_key=new_blob_key(),
        tag_names=tuple(tags),
        uploaded_timestamp=uploaded,
    )


def all_images(repository):
    return repository.find_images(ImageQuery(), PageRequest(0, 100)).results


def test_an_image_round_trips(repository):
    new = new_image(tags=("Chest", "chest", "x-ray"), filename="ßcan ünïcode.dcm", size=35_000_000)
    added = repository.add_image(new)
    assert added.id >= 1
    assert (added.filename, added.size, added.created_by, added.created_timestamp, added.blob_key) == (
        new.filename,
        new.size,
        new.created_by,
        new.created_timestamp,
        new.blob_key,
    )
    assert [t.name for t in added.tags] == ["Chest", "chest", "x-ray"]
    assert added.uploaded_timestamp is None and added.url is None
    assert repository.get_image(added.id) == added
    assert repository.get_image_by_blob_key(new.blob_key) == added
    assert repository.get_image(added.id + 1000) is None
    assert repository.get_image_by_blob_key("nope") is None


def test_ids_are_never_reused(repository):
    first = repository.add_image(new_image())
    second = repository.add_image(new_image())
    repository.delete_image(second.id)
    third = repository.add_image(new_image())
    assert first.id < second.id < third.id


def test_image_tags_share_tag_records_and_are_replaced_whole(repository):
    a = repository.add_image(new_image(tags=("lung", "CT")))
    b = repository.add_image(new_image(tags=("CT",)))
    assert {t.id for t in a.tags if t.name == "CT"} == {t.id for t in b.tags}
    updated = repository.set_image_tags(a.id, ["MR", "lung"])
    assert [t.name for t in updated.tags] == ["lung", "MR"]
    assert repository.get_image(a.id) == updated
    assert repository.set_image_tags(a.id, []).tags == ()
    assert repository.set_image_tags(9999, ["x"]) is None
    assert [t.name for t in repository.list_tags(PageRequest()).results] == ["CT", "lung", "MR"]


def test_mark_uploaded_keeps_the_first_time(repository):
    image = repository.add_image(new_image())
    assert repository.mark_uploaded(image.id, 2_000).uploaded_timestamp == 2_000
    assert repository.mark_uploaded(image.id, 3_000).uploaded_timestamp == 2_000
    assert repository.mark_uploaded(9999, 3_000) is None


def test_delete_image_returns_what_it_removed(repository):
    image = repository.add_image(new_image(tags=("keep",)))
    assert repository.delete_image(image.id) == image
    assert repository.get_image(image.id) is None
    assert repository.get_image_by_blob_key(image.blob_key) is None
    assert repository.delete_image(image.id) is None
    assert [t.name for t in repository.list_tags(PageRequest()).results] == ["keep"]


def test_pending_images(repository):
    old = repository.add_image(new_image(created=1_000))
    repository.add_image(new_image(created=1_000, uploaded=1_001))
    repository.add_image(new_image(created=2_000))
    assert [i.id for i in repository.pending_images(created_before=1_500)] == [old.id]


def test_tags_are_listed_alphabetically_and_paged(repository):
    for name in ["b", "B", "a", "C", "ä", "A"]:
        repository.add_tag(name)
    names = [t.name for t in repository.list_tags(PageRequest(0, 100)).results]
    assert names == sorted(names, key=lambda n: (n.casefold(), n)) == ["A", "a", "B", "b", "C", "ä"]
    page = repository.list_tags(PageRequest(1, 4))
    assert [t.name for t in page.results] == ["C", "ä"]
    assert (page.total_results, page.current_page, page.has_more_pages) == (6, 1, False)
    assert repository.list_tags(PageRequest(0, 4)).has_more_pages


def test_tag_names_are_unique_and_case_sensitive(repository):
    chest = repository.add_tag("Chest")
    other = repository.add_tag("chest")
    assert chest.id != other.id
    with pytest.raises(TagNameTaken) as taken:
        repository.add_tag("Chest")
    assert taken.value.existing == chest
    assert repository.get_tag(chest.id) == chest
    assert repository.get_tag(9999) is None


def test_rename_tag(repository):
    image = repository.add_image(new_image(tags=("lung", "ct")))
    ct = next(t for t in image.tags if t.name == "ct")
    renamed = repository.rename_tag(ct.id, "CT")
    assert renamed.id == ct.id and renamed.name == "CT"
    assert "CT" in repository.get_image(image.id).tag_names
    assert repository.rename_tag(ct.id, "CT") == renamed
    with pytest.raises(TagNameTaken):
        repository.rename_tag(ct.id, "lung")
    assert repository.rename_tag(9999, "x") is None


def test_delete_tag_leaves_images(repository):
    image = repository.add_image(new_image(tags=("a", "b")))
    a = next(t for t in image.tags if t.name == "a")
    assert repository.delete_tag(a.id)
    assert not repository.delete_tag(a.id)
    assert repository.get_tag(a.id) is None
    assert [t.name for t in repository.get_image(image.id).tags] == ["b"]


@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("STRASSE", "straße", True),
        ("straße", "STRASSE", True),
        ("i̇stanbul", "İstanbul", True),
        ("σίσυφος", "ΣΊΣΥΦΟΣ", True),
        ("σίσυφοσ", "ΣΊΣΥΦΟς", True),
        ("a_c", "abc", False),
        ("a_c", "A_C", True),
        ("a\\%", "a\\bc", True),
        ("a\\", "a\\", True),
        ("a\\_", "a_", False),
        ("%.%", "x.y", True),
        ("%.%", "xy", False),
        ("%", "anything", True),
        ("ab%ab", "ab", False),
        ("ab%ab", "abab", True),
    ],
)
def test_match_patterns_fold_unicode_and_take_only_percent_as_wildcard(repository, pattern, name, expected):
    assert TagPattern(pattern).matches(name) is expected  # the rule itself
    image = repository.add_image(new_image(tags=(name,)))
    found = repository.find_images(v1_query(patterns=[pattern]), PageRequest()).results
    assert [i.id for i in found] == ([image.id] if expected else [])


def test_concurrent_writers_never_duplicate_tags(repository):
    errors = []

    def create(n):
        try:
            repository.add_image(new_image(tags=("shared", "also-shared", f"own-{n}")))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = [t.name for t in repository.list_tags(PageRequest()).results]
    assert len(names) == len(set(names)) == 22
    assert repository.find_images(v1_query(exact_tags={"shared"}), PageRequest()).total_results == 20


def sorted_range(bounds):
    start, end = bounds
    return TimeRange(start, end) if start is None or end is None or start <= end else TimeRange(end, start)


queries = st.fixed_dictionaries(
    {
        "exact_tags": st.frozensets(tag_names, max_size=2),
        "patterns": st.lists(patterns.map(TagPattern), max_size=2).map(tuple),
        "time_range": st.tuples(st.none() | timestamps, st.none() | timestamps).map(sorted_range),
        "uploaded_only": st.booleans(),
        "created_by": st.none() | st.sampled_from(["ana", "bo"]),
    }
)


@settings(max_examples=40)
@given(specs=st.lists(image_specs(), max_size=12), parameters=queries, limit=st.integers(1, 5), data=st.data())
def test_search_pages_follow_the_domain_rules(repositories, specs, parameters, limit, data):
    query = v1_query(**parameters)
    with repositories() as repository:
        for n, (created, tags, uploaded) in enumerate(specs):
            uploaded_at = created if uploaded else None
            repository.add_image(new_image(created=created, tags=tags, uploaded=uploaded_at, created_by=("ana", "bo")[n % 2]))
        if data.draw(st.booleans(), label="by tag id") and specs:
            tags = repository.list_tags(PageRequest()).results
            if tags:
                query = v1_query(tag_id=data.draw(st.sampled_from(tags)).id, time_range=parameters["time_range"])
        expected = query.select(all_images(repository))
        walked, number = [], 0
        while True:
            page = repository.find_images(query, PageRequest(number, limit))
            assert page.total_results == len(expected)
            assert page.current_page == number
            walked.extend(page.results)
            if not page.has_more_pages:
                break
            number += 1
        assert walked == expected
        assert repository.find_images(query, PageRequest(number + 1, limit)).results == ()


def test_image_tags_are_sorted_like_the_tag_list(repository):
    image = repository.add_image(new_image(tags=("b", "A", "a", "B")))
    assert image.tags == sorted_tags(image.tags)


def test_the_largest_numbers_find_nothing(repository):
    from tim.domain.model.fields import INT64_MAX

    assert repository.get_image(INT64_MAX) is None and repository.get_tag(INT64_MAX) is None
    assert repository.set_image_tags(INT64_MAX, ["x"]) is None
    assert repository.find_images(ImageQuery(), PageRequest(INT64_MAX // 100, 100)).results == ()
    assert repository.list_tags(PageRequest(INT64_MAX // 100, 100)).results == ()
    far = v1_query(time_range=TimeRange(INT64_MAX, INT64_MAX))
    assert repository.find_images(far, PageRequest()).total_results == 0


def test_a_pending_only_delete_leaves_an_uploaded_record(repository):
    image = repository.add_image(new_image())
    repository.mark_uploaded(image.id, 2_000)
    assert repository.delete_image(image.id, pending_only=True) is None
    assert repository.get_image(image.id) is not None
    pending = repository.add_image(new_image())
    assert repository.delete_image(pending.id, pending_only=True).id == pending.id


def test_of_racing_deletes_exactly_one_gets_the_record(repository):
    image = repository.add_image(new_image(tags=("a",)))
    barrier = threading.Barrier(10)
    removed = []

    def delete():
        barrier.wait()
        removed.append(repository.delete_image(image.id))

    threads = [threading.Thread(target=delete) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [record.id for record in removed if record is not None] == [image.id]
    assert repository.get_image(image.id) is None
