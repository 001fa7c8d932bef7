"""Random sequences of use cases, on every repository, never disagree with
a plain model of what tim should hold. Tag names come from a small pool,
so that collisions, renames onto taken names and re-creations happen."""

import re

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from managers import in_memory_manager
from strategies import pooled_name_lists as tag_lists
from strategies import pooled_names as tag_names
from strategies import pooled_patterns as patterns
from tim.domain.model.errors import AlreadyUploaded, NotFound, TagNameTaken


def folded_match(pattern: str, name: str) -> bool:
    regex = ".*".join(re.escape(piece) for piece in pattern.casefold().split("%"))
    return re.fullmatch(regex, name.casefold(), flags=re.DOTALL) is not None


class TimModel(RuleBasedStateMachine):
    repositories = None  # a factory of fresh repositories, set for each run

    def __init__(self):
        super().__init__()
        self._fresh = self.repositories()
        self.tim = in_memory_manager(repository=self._fresh.__enter__().repository)
        self.images = {}  # id -> {"created", "tags": set of names, "uploaded", "data"}
        self.tags = {}  # id -> name
        self.last_image_id = 0
        self.last_tag_id = 0

    # model helpers

    def tag_id(self, name):
        for tag_id, tag_name in self.tags.items():
            if tag_name == name:
                return tag_id
        self.last_tag_id += 1  # ids are never reused
        self.tags[self.last_tag_id] = name
        return self.last_tag_id

    def expected_tags(self, names):
        unique = list(dict.fromkeys(n.strip() for n in names))
        for name in unique:
            self.tag_id(name)
        return set(unique)

    def newest_first(self, ids):
        return sorted(ids, key=lambda i: (-self.images[i]["created"], -i))

    def walk(self, lister, limit):
        found, page = [], 0
        while True:
            result = lister(page=page, limit=limit)
            found += [image.id for image in result.results]
            if not result.has_more_pages:
                return found, result.total_results
            page += 1

    # rules

    @rule(tags=tag_lists, size=st.integers(1, 20), one_shot=st.booleans(), tick=st.integers(0, 2))
    def create(self, tags, size, one_shot, tick):
        self.tim.ports.clock.advance(tick)
        if one_shot:
            image = self.tim.upload_image(created_by="m", filename="f", data=b"x" * size, tags=tags)
        else:
            image = self.tim.create_image(created_by="m", filename="f", size=size, tags=tags).image
        self.last_image_id += 1
        assert image.id == self.last_image_id
        self.images[image.id] = {"created": self.tim.ports.clock.now(), "tags": self.expected_tags(tags), "uploaded": one_shot, "size": size}
        assert image.tag_names == self.images[image.id]["tags"]

    @precondition(lambda self: self.images)
    @rule(data=st.data())
    def upload(self, data):
        image_id = data.draw(st.sampled_from(sorted(self.images)))
        model = self.images[image_id]
        try:
            image = self.tim.upload_file(image_id, [b"y" * model["size"]])
        except AlreadyUploaded:
            assert model["uploaded"]
        else:
            assert not model["uploaded"] and image.is_uploaded
            model["uploaded"] = True

    @precondition(lambda self: self.images)
    @rule(data=st.data(), tags=tag_lists)
    def retag(self, data, tags):
        image_id = data.draw(st.sampled_from(sorted(self.images)))
        image = self.tim.update_image_tags(image_id, tags=tags)
        self.images[image_id]["tags"] = self.expected_tags(tags)
        assert image.tag_names == self.images[image_id]["tags"]

    @rule(image_id=st.integers(1, 30))
    def delete_image(self, image_id):
        try:
            self.tim.delete_image(image_id)
        except NotFound:
            assert image_id not in self.images
        else:
            del self.images[image_id]

    @rule(name=tag_names)
    def create_tag(self, name):
        try:
            tag = self.tim.create_tag(name)
        except TagNameTaken as taken:
            assert self.tags[taken.existing.id] == name
        else:
            assert name not in self.tags.values()
            assert self.tag_id(name) == tag.id

    @rule(tag_id=st.integers(1, 12), name=tag_names)
    def rename_tag(self, tag_id, name):
        try:
            self.tim.rename_tag(tag_id, name=name)
        except NotFound:
            assert tag_id not in self.tags
        except TagNameTaken as taken:
            assert taken.existing.id != tag_id and self.tags[taken.existing.id] == name
        else:
            old = self.tags[tag_id]
            self.tags[tag_id] = name
            for image in self.images.values():
                if old in image["tags"]:
                    image["tags"] = image["tags"] - {old} | {name}

    @rule(tag_id=st.integers(1, 12))
    def delete_tag(self, tag_id):
        try:
            self.tim.delete_tag(tag_id)
        except NotFound:
            assert tag_id not in self.tags
        else:
            name = self.tags.pop(tag_id)
            for image in self.images.values():
                image["tags"].discard(name)

    def teardown(self):
        self._fresh.__exit__(None, None, None)

    @rule(
        exact=st.lists(tag_names, max_size=2),
        match=st.lists(patterns, max_size=2),
        any_of=st.lists(tag_names, max_size=2),
        exclude=st.lists(tag_names, max_size=2),
        exclude_match=st.lists(patterns, max_size=1),
        untagged=st.booleans(),
        uploaded_only=st.booleans(),
        limit=st.integers(1, 4),
    )
    def search(self, exact, match, any_of, exclude, exclude_match, untagged, uploaded_only, limit):
        if not (exact or match or any_of or exclude or exclude_match or untagged):
            return
        expected = self.newest_first(
            i
            for i, image in self.images.items()
            if set(exact) <= image["tags"]
            and all(any(folded_match(p, name) for name in image["tags"]) for p in match)
            and (not any_of or set(any_of) & image["tags"])
            and not set(exclude) & image["tags"]
            and not any(folded_match(p, name) for p in exclude_match for name in image["tags"])
            and (not untagged or not image["tags"])
            and (image["uploaded"] or not uploaded_only)
        )
        terms = {"exact_tags": exact, "match_tags": match, "any_tags": any_of, "exclude_tags": exclude}
        terms |= {"exclude_match_tags": exclude_match, "untagged": untagged, "uploaded_only": uploaded_only}
        found, total = self.walk(lambda **page: self.tim.search_images(**terms, **page), limit)
        assert found == expected and total == len(expected)

    @precondition(lambda self: self.tags)
    @rule(data=st.data(), limit=st.integers(1, 4))
    def tag_images(self, data, limit):
        tag_id = data.draw(st.sampled_from(sorted(self.tags)))
        expected = self.newest_first(i for i, image in self.images.items() if self.tags[tag_id] in image["tags"])
        assert self.walk(lambda **page: self.tim.list_tag_images(tag_id, **page), limit)[0] == expected

    @invariant()
    def everything_agrees(self):
        found, total = self.walk(self.tim.list_images, 100)
        assert found == self.newest_first(self.images) and total == len(self.images)
        for image in self.tim.list_images().results:
            model = self.images[image.id]
            assert (image.tag_names, image.is_uploaded, image.url is not None) == (model["tags"], model["uploaded"], model["uploaded"])
        tags = self.tim.list_tags().results
        assert {t.id: t.name for t in tags} == self.tags
        assert [t.name for t in tags] == sorted(self.tags.values(), key=lambda n: (n.casefold(), n))


def test_use_cases_agree_with_the_model(repositories):
    TimModel.repositories = staticmethod(repositories)
    run_state_machine_as_test(TimModel, settings=settings(max_examples=60, stateful_step_count=30, deadline=None))
