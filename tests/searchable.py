"""Repositories searched the way the use cases search them: through a
search index that follows their change feed."""

from contextlib import contextmanager

from tim.adapters.postings.index import PostingIndex
from tim.domain.model.patterns import TagPattern
from tim.domain.model.search import CreatedBy, CreatedIn, HasTag, HasTagId, HasTagMatching, ImageQuery, TimeRange, Uploaded


class Searchable:
    """A repository with a search index of its own; everything else is the repository's."""

    def __init__(self, repository):
        self.repository = repository
        self.index = PostingIndex()

    def __getattr__(self, name):
        return getattr(self.repository, name)

    def find_images(self, query, page):
        with self.repository.read() as view:
            return self.index.search(view, query, page)


@contextmanager
def searchable(fresh):
    """Wrap what a fresh-repository factory yields."""
    with fresh() as repository:
        yield Searchable(repository)


def v1_query(exact_tags=(), patterns=(), time_range=TimeRange(), uploaded_only=False, tag_id=None, created_by=None):
    """The query of v1's parameters, by the names they had before queries became trees."""
    conditions = [HasTagId(tag_id)] if tag_id is not None else []
    conditions += [HasTag(name) for name in sorted(exact_tags)]
    conditions += [HasTagMatching(p if isinstance(p, TagPattern) else TagPattern(p)) for p in patterns]
    if time_range != TimeRange():
        conditions.append(CreatedIn(time_range))
    if uploaded_only:
        conditions.append(Uploaded())
    if created_by is not None:
        conditions.append(CreatedBy(created_by))
    return ImageQuery.of(*conditions)
