"""Numbers past PostgreSQL's bigint (ids and page numbers arrive from URLs
with up to 20 digits) give the in-memory answers, not a database error."""

import pytest

from searchable import Searchable, v1_query
from tim.adapters.memory.repository import MemoryRepository
from tim.domain.model.paging import MAX_PAGE_NUMBER, PageRequest
from tim.domain.model.search import HasTagId, TimeRange

HUGE = 10**20 - 1

CALLS = {
    "get_image": lambda r: r.get_image(HUGE),
    "get_tag": lambda r: r.get_tag(HUGE),
    "rename_tag": lambda r: r.rename_tag(HUGE, "x"),
    "delete_tag": lambda r: r.delete_tag(HUGE),
    "set_image_tags": lambda r: r.set_image_tags(HUGE, ["x"]),
    "delete_image": lambda r: r.delete_image(HUGE),
    "pending_images": lambda r: list(r.pending_images(created_before=HUGE)),
    "time range": lambda r: r.find_images(v1_query(time_range=TimeRange(HUGE, HUGE)), PageRequest()),
    "last tag page": lambda r: r.list_tags(PageRequest(MAX_PAGE_NUMBER, 100)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_huge_numbers_find_nothing(postgres_repositories, call):
    with postgres_repositories() as repository:
        assert call(Searchable(repository)) == call(Searchable(MemoryRepository()))


def test_pages_and_ids_past_64_bits_cannot_even_be_asked_for():
    with pytest.raises(ValueError):
        PageRequest(HUGE, 100)
    with pytest.raises(ValueError):
        HasTagId(HUGE)
