"""Random writes and searches on every repository, searched through the
search index, agree with a plain model of the catalogue searched by the
domain's own rules (ImageQuery.select, resolved through the aliases): the
index is held to `matches`. The writes include merges, aliases and edits of
several images at once; the reads keyset pages, tag records and listings;
and the history each repository records must be the model's, event for
event: nothing committed is missing, nothing refused is there."""

from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_repository_contract import new_image
from strategies import NAME_POOL, PATTERN_POOL, conditions, pooled_name_lists, pooled_names, timestamps
from tim.domain.model.edits import TagEdit
from tim.domain.model.errors import InvalidInput, NotFound, TagNameTaken
from tim.domain.model.history import Actor, HistoryQuery, NewEvent
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import PageRequest
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import HasTag, HasTagId, HasTagMatching, ImageQuery, Untagged
from tim.domain.model.tags import Tag, TagListing, TagRecord, sorted_names, sorted_tags

ids = st.integers(1, 8)
ACTOR = Actor("eve", 5_000)
# Small, so that edits run into it.
MAX_TAGS = 4
operations = st.one_of(
    st.tuples(st.just("add_image"), timestamps, pooled_name_lists, st.booleans(), st.sampled_from(["ana", "bo"])),
    st.tuples(st.just("set_image_tags"), ids, pooled_name_lists),
    st.tuples(st.just("mark_uploaded"), ids, timestamps),
    st.tuples(st.just("delete_image"), ids),
    st.tuples(st.just("add_tag"), pooled_names),
    st.tuples(st.just("rename_tag"), ids, pooled_names),
    st.tuples(st.just("delete_tag"), ids),
    st.tuples(st.just("merge_tags"), ids, ids),
    st.tuples(st.just("remove_alias"), ids, pooled_names),
    st.tuples(st.just("edit_image_tags"), st.lists(ids, min_size=1, max_size=3, unique=True), *[pooled_name_lists] * 2),
    st.tuples(st.just("find_images"), conditions(), st.integers(0, 3), st.integers(1, 4)),
    st.tuples(st.just("find_after"), conditions(), st.tuples(timestamps, ids), st.integers(1, 4)),
)


class Model:
    """What a catalogue holds, as plainly as can be."""

    def __init__(self):
        self.images: dict[int, ImageRecord] = {}  # with tags=()
        self.image_tags: dict[int, set[int]] = {}
        self.tags: dict[int, str] = {}
        self.aliases: dict[str, int] = {}
        self.events: list[NewEvent] = []
        self.last_image_id = self.last_tag_id = 0

    def existing(self, name):
        """The id of the tag a name means, None if none."""
        for tag_id, tag_name in self.tags.items():
            if tag_name == name:
                return tag_id
        return self.aliases.get(name)

    def tag_named(self, name):
        found = self.existing(name)
        if found is not None:
            return found
        self.last_tag_id += 1
        self.tags[self.last_tag_id] = name
        return self.last_tag_id

    def meaning(self, name):
        return self.tags[self.aliases[name]] if name in self.aliases else name

    def record(self, image_id):
        tags = sorted_tags(Tag(tag_id, self.tags[tag_id]) for tag_id in self.image_tags[image_id])
        return evolve(self.images[image_id], tags=tags)

    def carrying(self, tag_id):
        return sorted(image_id for image_id, tag_ids in self.image_tags.items() if tag_id in tag_ids)

    def retag(self, image_id, after, via):
        before = self.image_tags[image_id]
        if before != after:
            self.image_tags[image_id] = after
            names = sorted_names(self.tags[t] for t in after - before), sorted_names(self.tags[t] for t in before - after)
            self.events.append(NewEvent.tagged(ACTOR, image_id, *names, via))

    def apply(self, operation):
        name, *args = operation
        if name == "add_image":
            created, names, uploaded, creator = args
            self.last_image_id += 1
            image_id = self.last_image_id
            uploaded_at = created if uploaded else None
            self.images[image_id] = ImageRecord(image_id, "scan.dcm", 10, creator, created, "", (), uploaded_at)
            self.image_tags[image_id] = {self.tag_named(n) for n in names}
            self.events.append(NewEvent.created(self.record(image_id)))
            if uploaded:
                self.events.append(NewEvent.uploaded(self.record(image_id), created))
        elif name == "set_image_tags" and args[0] in self.images:
            self.retag(args[0], {self.tag_named(n) for n in args[1]}, "replace")
        elif name == "mark_uploaded" and args[0] in self.images and self.images[args[0]].uploaded_timestamp is None:
            self.images[args[0]] = evolve(self.images[args[0]], uploaded_timestamp=args[1])
            self.events.append(NewEvent.uploaded(self.images[args[0]], args[1]))
        elif name == "delete_image" and args[0] in self.images:
            self.events.append(NewEvent.deleted(ACTOR, self.record(args[0])))
            del self.images[args[0]], self.image_tags[args[0]]
        elif name == "add_tag" and self.existing(args[0]) is None:
            self.tag_named(args[0])
        elif name == "rename_tag" and args[0] in self.tags and self.existing(args[1]) is None:
            old = Tag(args[0], self.tags[args[0]])
            self.events += [NewEvent.tag_renamed(ACTOR, old, args[1], i) for i in self.carrying(args[0])]
            self.events.append(NewEvent.tag_renamed(ACTOR, old, args[1]))
            self.tags[args[0]] = args[1]
        elif name == "delete_tag" and args[0] in self.tags:
            tag = Tag(args[0], self.tags.pop(args[0]))
            for image_id in self.carrying(args[0]):
                self.image_tags[image_id].discard(args[0])
                self.events.append(NewEvent.tag_deleted(ACTOR, tag, image_id))
            self.aliases = {alias: target for alias, target in self.aliases.items() if target != args[0]}
        elif name == "merge_tags" and args[0] in self.tags and args[1] in self.tags and args[0] != args[1]:
            self.merge(*args)
        elif name == "remove_alias" and self.aliases.get(args[1]) == args[0]:
            del self.aliases[args[1]]
        elif name == "edit_image_tags" and all(i in self.images for i in args[0]) and edit_of(args) is not None:
            self.edit(args[0], edit_of(args))

    def merge(self, source, into):
        merged, kept = Tag(source, self.tags.pop(source)), Tag(into, self.tags[into])
        for image_id in self.carrying(source):
            tag_ids = self.image_tags[image_id]
            self.events.append(NewEvent.tags_merged(ACTOR, merged, kept, image_id, had_into=into in tag_ids))
            tag_ids.discard(source)
            tag_ids.add(into)
        self.events.append(NewEvent.tags_merged(ACTOR, merged, kept))
        self.aliases = {alias: into if target == source else target for alias, target in self.aliases.items()}
        self.aliases[merged.name] = into

    def edit(self, image_ids, edit):
        new = {n: -k for k, n in enumerate([n for n in edit.add if self.existing(n) is None], 1)}
        added = [new.get(n) or self.existing(n) for n in edit.add]
        removed = [self.existing(n) for n in edit.remove if self.existing(n) is not None]
        try:
            plans = [(i, edit.applied(i, self.image_tags[i], added, removed)) for i in image_ids]
        except InvalidInput:
            return  # too many tags on one of them: nothing at all
        made = {stand_in: self.tag_named(n) for n, stand_in in new.items()}
        for image_id, after in plans:
            self.retag(image_id, {made.get(t, t) for t in after}, "bulk")

    def find(self, query, page):
        return page.slice([image.id for image in query.resolved(self.meaning).select(self.record(i) for i in self.images)])

    def find_after(self, query, key, limit):
        selected = query.resolved(self.meaning).select(self.record(i) for i in self.images)
        older = [image.id for image in selected if (image.created_timestamp, image.id) < key]
        return older[:limit], len(selected)

    def tag_records(self):
        return [
            TagRecord(
                Tag(tag_id, name),
                len(self.carrying(tag_id)),
                sorted_names(alias for alias, target in self.aliases.items() if target == tag_id),
            )
            for tag_id, name in sorted(self.tags.items())
        ]


def edit_of(args):
    """The TagEdit an edit operation makes; None for one the domain refuses."""
    _, add, remove = args
    try:
        return TagEdit(tuple(dict.fromkeys(add)), tuple(dict.fromkeys(remove)), MAX_TAGS)
    except InvalidInput:
        return None


def apply(repository, operation):
    """Run the operation; a search returns the ids and total it found."""
    name, *args = operation
    if name == "add_image":
        created, names, uploaded, creator = args
        repository.add_image(new_image(created=created, tags=names, uploaded=created if uploaded else None, created_by=creator))
    elif name == "find_images":
        condition, number, limit = args
        return repository.find_images(ImageQuery(condition), PageRequest(number, limit)).map(lambda image: image.id)
    elif name == "find_after":
        condition, key, limit = args
        page = repository.find_images(ImageQuery(condition), PageRequest.following(key, limit))
        return [image.id for image in page.results], page.total_results
    elif name == "edit_image_tags":
        edit = edit_of(args)
        if edit is not None:
            try:
                repository.edit_image_tags(args[0], edit, actor=ACTOR, via="bulk")
            except (NotFound, InvalidInput):
                pass
    elif name in ("mark_uploaded", "add_tag", "remove_alias"):
        try:
            getattr(repository, name)(*args)
        except TagNameTaken:
            pass
    else:
        try:
            getattr(repository, name)(*args, actor=ACTOR)
        except (TagNameTaken, NotFound, InvalidInput):
            pass
    return None


def expected(model, operation):
    name, condition, *rest = operation
    if name == "find_images":
        return model.find(ImageQuery(condition), PageRequest(*rest))
    return model.find_after(ImageQuery(condition), *rest)


# After every step, what each name, pattern and tag id selects: a change the
# index missed shows at once, not only when a random query happens to ask.
PROBES = [
    *(HasTag(name) for name in NAME_POOL),
    *(HasTagMatching(TagPattern(pattern)) for pattern in PATTERN_POOL),
    *(HasTagId(tag_id) for tag_id in range(1, 9)),
    Untagged(),
]
PREFIXES = ("", "l", "LU", "s", "i", "x_")


def probe(repository):
    with repository.read() as view:
        pages = [repository.index.search(view, ImageQuery(probe), PageRequest()) for probe in PROBES]
        records = sorted(repository.index.tag_records(view), key=lambda record: record.id)
        listings = [repository.index.tags(view, TagListing(prefix), PageRequest()).results for prefix in PREFIXES]
    return [page.map(lambda image: image.id) for page in pages], records, listings


def expected_probe(model):
    records = model.tag_records()
    return (
        [model.find(ImageQuery(p), PageRequest()) for p in PROBES],
        records,
        [tuple(TagListing(prefix).select(records)) for prefix in PREFIXES],
    )


def walked_by_key(repository, limit=3):
    """Every image, a keyset page at a time."""
    found, page = [], repository.find_images(ImageQuery(), PageRequest(limit=limit))
    while True:
        found += [image.id for image in page.results]
        if not page.has_more_pages:
            return found
        last = page.results[-1]
        page = repository.find_images(ImageQuery(), PageRequest.following((last.created_timestamp, last.id), limit))


def history(repository):
    """Every event in the order recorded, without the ids the repository gave them."""
    return [
        NewEvent(e.at, e.by, e.action, e.image_id, e.added, e.removed, e.details)
        for e in sorted(repository.history(HistoryQuery()), key=lambda event: event.id)
    ]


@settings(max_examples=60)
@given(st.lists(operations, max_size=30))
def test_searches_agree_with_the_domain_rules_on_a_model(repositories, script):
    model = Model()
    with repositories() as repository:
        for operation in script:
            found = apply(repository, operation)
            if found is not None:
                assert found == expected(model, operation), operation
            model.apply(operation)
            assert probe(repository) == expected_probe(model), operation
            assert history(repository) == model.events, operation
        everything = ImageQuery()
        assert apply(repository, ("find_images", everything.where, 0, 100)) == model.find(everything, PageRequest())
        assert walked_by_key(repository) == list(model.find(everything, PageRequest()).results)
        assert {t.id: t.name for t in repository.list_tags(PageRequest()).results} == model.tags
