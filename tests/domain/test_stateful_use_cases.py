"""Random sequences of use cases, on every repository, never disagree with
a plain model of what tim should hold. Tag names come from a small pool,
so that collisions, renames onto taken names and re-creations happen, and
merges make some of them aliases, which image inputs and exact search
terms then resolve."""

import re

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from managers import in_memory_manager
from strategies import pooled_name_lists as tag_lists
from strategies import pooled_names as tag_names
from strategies import pooled_patterns as patterns
from tim.domain.model.errors import AlreadyUploaded, ImagesNotFound, InvalidInput, NotFound, TagNameTaken
from tim.domain.model.tags import sorted_names


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
        self.aliases = {}  # alias -> the id of its tag
        self.last_image_id = 0
        self.last_tag_id = 0

    # model helpers

    def existing(self, name):
        """The id of the tag a name means (its own, or an alias's); None if none."""
        for tag_id, tag_name in self.tags.items():
            if tag_name == name:
                return tag_id
        return self.aliases.get(name)

    def tag_id(self, name):
        found = self.existing(name)
        if found is not None:
            return found
        self.last_tag_id += 1  # ids are never reused
        self.tags[self.last_tag_id] = name
        return self.last_tag_id

    def meaning(self, name):
        return self.tags[self.aliases[name]] if name in self.aliases else name

    def expected_tags(self, names):
        unique = list(dict.fromkeys(n.strip() for n in names))
        for name in unique:
            self.tag_id(name)
        return {self.meaning(name) for name in unique}

    def count(self, tag_id):
        return sum(self.tags[tag_id] in image["tags"] for image in self.images.values())

    def newest_first(self, ids):
        return sorted(ids, key=lambda i: (-self.images[i]["created"], -i))

    def walk_by_cursor(self, lister, limit):
        found, cursor = [], None
        while True:
            result = lister(limit=limit, cursor=cursor)
            found += [image.id for image in result.results]
            if result.next_cursor is None:
                return found
            cursor = result.next_cursor

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

    @precondition(lambda self: self.images)
    @rule(data=st.data(), add=tag_lists, remove=tag_lists)
    def edit(self, data, add, remove):
        image_id = data.draw(st.sampled_from(sorted(self.images)))
        before = set(self.images[image_id]["tags"])
        try:
            image = self.tim.edit_image_tags(image_id, add=add, remove=remove, by="editor")
        except InvalidInput:
            assert not (add or remove) or set(add) & set(remove)
            return
        self.images[image_id]["tags"] = self.edited(before, add, remove)
        assert image.tag_names == self.images[image_id]["tags"]
        if image.tag_names != before:
            last = self.tim.image_history(image_id)[0]
            assert (last.action, last.by, set(last.added), set(last.removed)) == (
                "tagged",
                "editor",
                image.tag_names - before,
                before - image.tag_names,
            )

    @rule(ids=st.lists(st.integers(1, 30), min_size=1, max_size=4), add=tag_lists, remove=tag_lists)
    def edit_in_bulk(self, ids, add, remove):
        unique = list(dict.fromkeys(ids))
        try:
            updated = self.tim.edit_tags_of_images(ids=ids, add=add, remove=remove, by="editor")
        except ImagesNotFound as missing:
            assert list(missing.ids) == [i for i in unique if i not in self.images]
            return  # and nothing changed: the invariant checks every image
        except InvalidInput:
            assert not (add or remove) or set(add) & set(remove)
            return
        changed = 0
        for image_id in unique:
            before = self.images[image_id]["tags"]
            self.images[image_id]["tags"] = self.edited(before, add, remove)
            changed += self.images[image_id]["tags"] != before
        assert updated == changed

    def edited(self, tags, add, remove):
        """An image's tag names after an edit: removed ones go, added ones come (and win)."""
        added = self.expected_tags(add)
        removed = {self.meaning(name) for name in remove if self.existing(name) is not None}
        return (tags - removed) | added

    @rule(image_id=st.integers(1, 30))
    def delete_image(self, image_id):
        try:
            self.tim.delete_image(image_id, by="remover")
        except NotFound:
            assert image_id not in self.images
        else:
            del self.images[image_id]
            last = self.tim.image_history(image_id)[0]  # kept after the image is gone
            assert (last.action, last.by) == ("deleted", "remover")

    @rule(name=tag_names)
    def create_tag(self, name):
        try:
            tag = self.tim.create_tag(name)
        except TagNameTaken as taken:
            assert taken.existing.id == self.existing(name)
        else:
            assert self.existing(name) is None
            assert self.tag_id(name) == tag.id

    @rule(tag_id=st.integers(1, 12), name=tag_names)
    def rename_tag(self, tag_id, name):
        try:
            self.tim.rename_tag(tag_id, name=name)
        except NotFound:
            assert tag_id not in self.tags
        except TagNameTaken as taken:
            assert self.tags[tag_id] != name and taken.existing.id == self.existing(name)
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
            self.aliases = {alias: target for alias, target in self.aliases.items() if target != tag_id}

    @rule(tag_id=st.integers(1, 12), into=st.integers(1, 12))
    def merge_tags(self, tag_id, into):
        try:
            kept = self.tim.merge_tags(tag_id, into=into, by="curator")
        except NotFound:
            assert tag_id not in self.tags or into not in self.tags
            return
        except InvalidInput:
            assert tag_id == into
            return
        merged, survivor = self.tags.pop(tag_id), self.tags[into]
        for image in self.images.values():
            if merged in image["tags"]:
                image["tags"] = image["tags"] - {merged} | {survivor}
        self.aliases = {alias: into if target == tag_id else target for alias, target in self.aliases.items()}
        self.aliases[merged] = into
        assert (kept.id, kept.name, kept.image_count) == (into, survivor, self.count(into))
        assert kept.aliases == sorted_names(alias for alias, target in self.aliases.items() if target == into)

    @rule(tag_id=st.integers(1, 12), name=tag_names)
    def remove_alias(self, tag_id, name):
        try:
            self.tim.remove_alias(tag_id, name)
        except NotFound:
            assert self.aliases.get(name) != tag_id
        else:
            del self.aliases[name]

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
        meant = [{self.meaning(name) for name in names} for names in (exact, any_of, exclude)]
        expected = self.newest_first(
            i
            for i, image in self.images.items()
            if meant[0] <= image["tags"]
            and all(any(folded_match(p, name) for name in image["tags"]) for p in match)
            and (not any_of or meant[1] & image["tags"])
            and not meant[2] & image["tags"]
            and not any(folded_match(p, name) for p in exclude_match for name in image["tags"])
            and (not untagged or not image["tags"])
            and (image["uploaded"] or not uploaded_only)
        )
        terms = {"exact_tags": exact, "match_tags": match, "any_tags": any_of, "exclude_tags": exclude}
        terms |= {"exclude_match_tags": exclude_match, "untagged": untagged, "uploaded_only": uploaded_only}
        found, total = self.walk(lambda **page: self.tim.search_images(**terms, **page), limit)
        assert found == expected and total == len(expected)
        assert self.walk_by_cursor(lambda **page: self.tim.search_images(**terms, **page), limit) == expected

    @precondition(lambda self: self.tags)
    @rule(data=st.data(), limit=st.integers(1, 4))
    def tag_images(self, data, limit):
        tag_id = data.draw(st.sampled_from(sorted(self.tags)))
        expected = self.newest_first(i for i, image in self.images.items() if self.tags[tag_id] in image["tags"])
        assert self.walk(lambda **page: self.tim.list_tag_images(tag_id, **page), limit)[0] == expected
        assert self.walk_by_cursor(lambda **page: self.tim.list_tag_images(tag_id, **page), limit) == expected

    @invariant()
    def everything_agrees(self):
        found, total = self.walk(self.tim.list_images, 100)
        assert found == self.newest_first(self.images) and total == len(self.images)
        assert self.walk_by_cursor(self.tim.list_images, 2) == found
        for image in self.tim.list_images().results:
            model = self.images[image.id]
            assert (image.tag_names, image.is_uploaded, image.url is not None) == (model["tags"], model["uploaded"], model["uploaded"])
        tags = self.tim.list_tags().results
        assert {t.id: t.name for t in tags} == self.tags
        assert [t.name for t in tags] == sorted(self.tags.values(), key=lambda n: (n.casefold(), n))
        assert {t.id: t.image_count for t in tags} == {tag_id: self.count(tag_id) for tag_id in self.tags}
        assert {t.id: set(t.aliases) for t in tags} == {
            tag_id: {alias for alias, target in self.aliases.items() if target == tag_id} for tag_id in self.tags
        }
        for prefix in ("l", "S", ""):
            listed = [t.id for t in self.tim.list_tags(prefix=prefix).results]
            starting = [i for i in self.tags if self.tags[i].casefold().startswith(prefix.casefold())]
            by_use = sorted(starting, key=lambda i: (-self.count(i), self.tags[i].casefold(), self.tags[i]))
            assert listed == by_use, prefix


def test_use_cases_agree_with_the_model(repositories):
    TimModel.repositories = staticmethod(repositories)
    run_state_machine_as_test(TimModel, settings=settings(max_examples=60, stateful_step_count=30, deadline=None))
