"""Random writes and searches on every repository, searched through the
search index, agree with a plain model of the catalogue searched by the
domain's own rules (ImageQuery.select): the index is held to `matches`."""

from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.test_repository_contract import new_image
from strategies import NAME_POOL, PATTERN_POOL, conditions, pooled_name_lists, pooled_names, timestamps
from tim.domain.model.errors import TagNameTaken
from tim.domain.model.images import ImageRecord
from tim.domain.model.paging import PageRequest
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import HasTag, HasTagId, HasTagMatching, ImageQuery, Untagged
from tim.domain.model.tags import Tag, sorted_tags

ids = st.integers(1, 8)
operations = st.one_of(
    st.tuples(st.just("add_image"), timestamps, pooled_name_lists, st.booleans(), st.sampled_from(["ana", "bo"])),
    st.tuples(st.just("set_image_tags"), ids, pooled_name_lists),
    st.tuples(st.just("mark_uploaded"), ids, timestamps),
    st.tuples(st.just("delete_image"), ids),
    st.tuples(st.just("add_tag"), pooled_names),
    st.tuples(st.just("rename_tag"), ids, pooled_names),
    st.tuples(st.just("delete_tag"), ids),
    st.tuples(st.just("find_images"), conditions(), st.integers(0, 3), st.integers(1, 4)),
)


class Model:
    """What a catalogue holds, as plainly as can be."""

    def __init__(self):
        self.images: dict[int, ImageRecord] = {}  # with tags=()
        self.image_tags: dict[int, set[int]] = {}
        self.tags: dict[int, str] = {}
        self.last_image_id = self.last_tag_id = 0

    def tag_named(self, name):
        for tag_id, tag_name in self.tags.items():
            if tag_name == name:
                return tag_id
        self.last_tag_id += 1
        self.tags[self.last_tag_id] = name
        return self.last_tag_id

    def record(self, image_id):
        tags = sorted_tags(Tag(tag_id, self.tags[tag_id]) for tag_id in self.image_tags[image_id])
        return evolve(self.images[image_id], tags=tags)

    def apply(self, operation):
        name, *args = operation
        if name == "add_image":
            created, names, uploaded, creator = args
            self.last_image_id += 1
            image_id = self.last_image_id
            self.images[image_id] = ImageRecord(image_id, "scan.dcm", 10, creator, created, "", uploaded_timestamp=created if uploaded else None)
            self.image_tags[image_id] = {self.tag_named(n) for n in names}
        elif name == "set_image_tags" and args[0] in self.images:
            self.image_tags[args[0]] = {self.tag_named(n) for n in args[1]}
        elif name == "mark_uploaded" and args[0] in self.images and self.images[args[0]].uploaded_timestamp is None:
            self.images[args[0]] = evolve(self.images[args[0]], uploaded_timestamp=args[1])
        elif name == "delete_image" and args[0] in self.images:
            del self.images[args[0]], self.image_tags[args[0]]
        elif name == "add_tag":
            self.tag_named(args[0])
        elif name == "rename_tag" and args[0] in self.tags and args[1] not in self.tags.values():
            self.tags[args[0]] = args[1]
        elif name == "delete_tag" and args[0] in self.tags:
            del self.tags[args[0]]
            for tag_ids in self.image_tags.values():
                tag_ids.discard(args[0])

    def find(self, query, page):
        return page.slice([image.id for image in query.select(self.record(i) for i in self.images)])


def apply(repository, operation):
    """Run the operation; a search returns the ids and total it found."""
    name, *args = operation
    if name == "add_image":
        created, names, uploaded, creator = args
        repository.add_image(new_image(created=created, tags=names, uploaded=created if uploaded else None, created_by=creator))
    elif name == "find_images":
        condition, number, limit = args
        return repository.find_images(ImageQuery(condition), PageRequest(number, limit)).map(lambda image: image.id)
    else:
        try:
            getattr(repository, name)(*args)
        except TagNameTaken:
            pass
    return None


# After every step, what each name, pattern and tag id selects: a change the
# index missed shows at once, not only when a random query happens to ask.
PROBES = [
    *(HasTag(name) for name in NAME_POOL),
    *(HasTagMatching(TagPattern(pattern)) for pattern in PATTERN_POOL),
    *(HasTagId(tag_id) for tag_id in range(1, 9)),
    Untagged(),
]


def probe(repository):
    with repository.read() as view:
        pages = [repository.index.search(view, ImageQuery(probe), PageRequest()) for probe in PROBES]
    return [page.map(lambda image: image.id) for page in pages]


@settings(max_examples=60)
@given(st.lists(operations, max_size=30))
def test_searches_agree_with_the_domain_rules_on_a_model(repositories, script):
    model = Model()
    with repositories() as repository:
        for operation in script:
            found = apply(repository, operation)
            if found is not None:
                _, condition, number, limit = operation
                assert found == model.find(ImageQuery(condition), PageRequest(number, limit)), operation
            model.apply(operation)
            assert probe(repository) == [model.find(ImageQuery(p), PageRequest()) for p in PROBES], operation
        everything = ImageQuery()
        assert apply(repository, ("find_images", everything.where, 0, 100)) == model.find(everything, PageRequest())
        assert {t.id: t.name for t in repository.list_tags(PageRequest()).results} == model.tags
