"""Curation through the embedding API, on in-memory parts: search
operators, cursors, export, tag records, merges and aliases, edits and
history, and what each refuses."""

import pytest

from managers import in_memory_manager
from tim.domain.model.errors import ImagesNotFound, InvalidInput, NotFound, TagNameTaken
from tim.domain.model.history import SYSTEM
from tim.domain.use_cases import parts


@pytest.fixture
def tim():
    manager = in_memory_manager()
    yield manager
    manager.close()


def ids(page):
    return [image.id for image in page.results]


def image(tim, *tags, by="ana"):
    tim.ports.clock.advance()
    return tim.upload_image(created_by=by, filename="a.dcm", data=b"x", tags=list(tags))


def test_search_operators(tim):
    ct, mr, both, bare = image(tim, "CT", "chest"), image(tim, "MR"), image(tim, "CT", "MR", "reviewed"), image(tim)
    assert ids(tim.search_images(any_tags="CT|MR")) == [both.id, mr.id, ct.id]
    assert ids(tim.search_images(exclude_tags="reviewed")) == [bare.id, mr.id, ct.id]
    assert ids(tim.search_images(exclude_match_tags="c%")) == [bare.id, mr.id]
    assert ids(tim.search_images(untagged="true")) == [bare.id]
    assert ids(tim.search_images(exact_tags="CT", exclude_tags="reviewed")) == [ct.id]
    with pytest.raises(InvalidInput, match="at most 64"):
        tim.search_images(any_tags="|".join(f"t{n}" for n in range(40)), exclude_tags="|".join(f"u{n}" for n in range(25)))


def test_a_walk_by_cursor_is_not_shifted_by_new_images(tim):
    made = [image(tim, "walk") for _ in range(7)]
    first = tim.search_images(exact_tags="walk", limit=3)
    assert ids(first) == [m.id for m in made[:3:-1]] and first.next_cursor
    newer = image(tim, "walk")  # would shift every later page by one
    second = tim.search_images(exact_tags="walk", limit=3, cursor=first.next_cursor)
    third = tim.search_images(exact_tags="walk", limit=3, cursor=second.next_cursor)
    assert ids(second) + ids(third) == [m.id for m in made[3::-1]]
    assert (second.total_results, second.current_page, third.has_more_pages, third.next_cursor) == (8, 1, False, None)
    assert newer.id not in ids(second) + ids(third)


def test_a_cursor_is_refused_with_a_page_other_filters_or_changed(tim):
    for _ in range(3):
        image(tim, "a", "b")
    cursor = tim.search_images(exact_tags="a", limit=1).next_cursor
    for wrong, message in [
        (lambda: tim.search_images(exact_tags="a", cursor=cursor, page=1), "not both"),
        (lambda: tim.search_images(exact_tags="b", cursor=cursor), "other filters"),
        (lambda: tim.list_images(cursor=cursor), "other filters"),
        (lambda: tim.search_images(exact_tags="a", cursor=cursor[:-2] + "AA"), "not a cursor"),
    ]:
        with pytest.raises(InvalidInput, match=message) as raised:
            wrong()
        assert raised.value.problems[0].field == "cursor"
    assert len(tim.search_images(exact_tags="a", limit=1, cursor=cursor).results) == 1


def test_export_reads_batches_as_it_goes(tim, monkeypatch):
    monkeypatch.setattr(parts, "EXPORT_BATCH", 4)
    made = [image(tim, "x" if n % 2 else "y") for n in range(10)]
    pending = tim.create_image(created_by="bo", filename="p", size=3, tags=["x"]).image
    exported = list(tim.export_images())
    assert [i.id for i in exported] == [pending.id] + [m.id for m in reversed(made)]
    assert all(i.url for i in exported[1:]) and exported[0].url is None
    tagged_x = [m.id for m in reversed(made) if m.id % 2 == 0]
    assert [i.id for i in tim.export_images(exact_tags="x")] == [pending.id, *tagged_x]
    searches = []
    original = tim.ports.index.search
    monkeypatch.setattr(tim.ports.index, "search", lambda *a: searches.append(a) or original(*a))
    batches = tim.export_batches()
    assert searches == []  # nothing read before it is asked for
    assert len(next(batches)) == 4 and len(searches) == 1
    with pytest.raises(InvalidInput):
        tim.export_batches(untagged="maybe")


def test_tag_records_count_images_and_list_aliases(tim):
    chest = tim.create_tag("Chest")
    assert (chest.image_count, chest.aliases) == (0, ())
    image(tim, "Chest", "lung"), image(tim, "chest"), image(tim, "CHEST", "Chest")
    lower = next(t for t in tim.list_tags().results if t.name == "chest")
    kept = tim.merge_tags(lower.id, into=chest.id, by="cu")
    assert (kept.id, kept.image_count, kept.aliases) == (chest.id, 3, ("chest",))
    upper = next(t for t in tim.list_tags().results if t.name == "CHEST")
    assert tim.merge_tags(upper.id, into=chest.id, by="cu").aliases == ("CHEST", "chest")  # alphabetical
    assert tim.get_tag(chest.id).image_count == 3
    assert [t.name for t in tim.list_tags(prefix="ch").results] == ["Chest"]


def test_aliases_mean_their_tag_until_removed(tim):
    chest, lower = tim.create_tag("Chest"), tim.create_tag("chest")
    tim.merge_tags(lower.id, into=chest.id, by="cu")
    with pytest.raises(TagNameTaken, match="alias") as taken:
        tim.create_tag("chest")
    assert taken.value.existing == chest.tag
    tagged = image(tim, "chest")
    assert [t.name for t in tagged.tags] == ["Chest"]
    assert ids(tim.search_images(exact_tags="chest")) == [tagged.id]
    assert ids(tim.search_images(exclude_tags="chest")) == []
    with pytest.raises(NotFound):
        tim.get_tag(lower.id)
    with pytest.raises(NotFound):
        tim.remove_alias(chest.id, "nope")
    tim.remove_alias(chest.id, "chest")
    assert tim.create_tag("chest").name == "chest"


def test_merges_refuse_the_same_tag_and_unknown_ones(tim):
    tag = tim.create_tag("a")
    with pytest.raises(InvalidInput) as raised:
        tim.merge_tags(tag.id, into=tag.id, by="cu")
    assert raised.value.problems[0].field == "into"
    for source, into in [(tag.id, 99), (99, tag.id), ("x", tag.id)]:
        with pytest.raises(NotFound):
            tim.merge_tags(source, into=into, by="cu")
    with pytest.raises(InvalidInput):
        tim.merge_tags(tag.id, into="x", by="cu")


def test_collisions(tim):
    for name in ("Chest", "chest", "CT", "ct", "lung"):
        tim.create_tag(name)
    assert [(c.folded, [t.name for t in c.tags]) for c in tim.tag_collisions()] == [
        ("chest", ["Chest", "chest"]),
        ("ct", ["CT", "ct"]),
    ]


def test_edits_add_and_remove_and_refuse_too_many_tags():
    tim = in_memory_manager(max_tags_per_image=3)
    one = tim.upload_image(created_by="a", filename="a", data=b"x", tags=["a", "b"])
    assert [t.name for t in tim.edit_image_tags(one.id, add=["c"], remove=["a", "nope"], by="ed").tags] == ["b", "c"]
    with pytest.raises(InvalidInput, match="at most 3"):
        tim.edit_image_tags(one.id, add=["d", "e"], by="ed")
    assert [t.name for t in tim.get_image(one.id).tags] == ["b", "c"]
    assert "d" not in [t.name for t in tim.list_tags().results]  # nothing made either
    with pytest.raises(NotFound):
        tim.edit_image_tags(99, add=["x"], by="ed")


def test_a_bulk_edit_is_all_or_nothing(tim):
    a, b = image(tim, "x"), image(tim)
    with pytest.raises(ImagesNotFound) as missing:
        tim.edit_tags_of_images(ids=[a.id, 77, b.id, 0], add=["new"], by="ed")
    assert missing.value.ids == (77, 0)
    assert [t.name for t in tim.list_tags().results] == ["x"]
    assert tim.edit_tags_of_images(ids=[a.id, b.id, a.id], add=["x"], by="ed") == 1
    with pytest.raises(InvalidInput):
        tim.edit_tags_of_images(ids=list(range(1, 1002)), add=["x"], by="ed")


def test_history_of_an_image_outlives_it(tim):
    tim.ports.clock.set(1_000)
    made = tim.create_image(created_by="ana", filename="a", size=1, tags=["a"]).image
    tim.upload_file(made.id, [b"x"])
    tim.ports.clock.set(1_001)
    tim.update_image_tags(made.id, tags=["b"], by="bo")
    tim.edit_image_tags(made.id, add=["c"], by="cy")
    tag_b = next(t for t in tim.list_tags().results if t.name == "b")
    tim.rename_tag(tag_b.id, name="B", by="di")
    tim.merge_tags(tag_b.id, into=tim.create_tag("Z").id, by="ed")
    tim.delete_tag(next(t.id for t in tim.list_tags().results if t.name == "c"), by="fi")
    tim.delete_image(made.id, by="gu")
    events = tim.image_history(made.id)
    assert [(e.action, e.by, e.added, e.removed) for e in events] == [
        ("deleted", "gu", (), ("Z",)),
        ("tagged", "fi", (), ("c",)),
        ("tags_merged", "ed", ("Z",), ("B",)),
        ("tag_renamed", "di", ("B",), ("b",)),
        ("tagged", "cy", ("c",), ()),
        ("tagged", "bo", ("b",), ("a",)),
        ("uploaded", "ana", (), ()),
        ("created", "ana", ("a",), ()),
    ]
    with pytest.raises(NotFound):
        tim.image_history(made.id + 1)
    with pytest.raises(NotFound):
        tim.image_history("x")


def test_the_history_of_everything_by_cursor(tim):
    for n in range(5):
        image(tim, f"t{n}", by="ana" if n % 2 else "bo")
    every = tim.list_history(limit=100).results
    assert [e.action for e in every] == ["uploaded", "created"] * 5
    walked, cursor = [], None
    while True:
        page = tim.list_history(by="ana", limit=1, cursor=cursor)
        walked += page.results
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == [e for e in every if e.by == "ana"]
    with pytest.raises(InvalidInput, match="other filters"):
        tim.list_history(by="bo", cursor=cursor or tim.list_history(by="ana", limit=1).next_cursor)
    assert tim.list_history(since=every[1].at, image_id=every[0].image_id).results == tuple(every[:2])


def test_sweeps_act_as_tim(tim):
    pending = tim.create_image(created_by="a", filename="a", size=1).image
    tim.ports.clock.advance(100)
    tim.reconcile(expire_pending_after=10)
    assert (tim.image_history(pending.id)[0].action, tim.image_history(pending.id)[0].by) == ("deleted", SYSTEM)
