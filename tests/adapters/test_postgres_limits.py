"""Numbers past PostgreSQL's bigint (ids and page numbers arrive from URLs
with up to 20 digits) give the in-memory answers, not a database error."""

import pytest

from tim.adapters.memory.repository import MemoryRepository
from tim.domain.model.paging import PageRequest
from tim.domain.model.search import ImageQuery, TimeRange

HUGE = 10**20 - 1

CALLS = {
    "get_image": lambda r: r.get_image(HUGE),
    "get_tag": lambda r: r.get_tag(HUGE),
    "rename_tag": lambda r: r.rename_tag(HUGE, "x"),
    "delete_tag": lambda r: r.delete_tag(HUGE),
    "set_image_tags": lambda r: r.set_image_tags(HUGE, ["x"]),
    "delete_image": lambda r: r.delete_image(HUGE),
    "pending_images": lambda r: list(r.pending_images(created_before=HUGE)),
    "images of a tag": lambda r: r.find_images(ImageQuery(tag_id=HUGE), PageRequest()),
    "time range": lambda r: r.find_images(ImageQuery(time_range=TimeRange(HUGE, HUGE)), PageRequest()),
    "image page": lambda r: r.find_images(ImageQuery(), PageRequest(HUGE, 100)),
    "tag page": lambda r: r.list_tags(PageRequest(HUGE, 100)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_huge_numbers_find_nothing(postgres_repositories, call):
    with postgres_repositories() as repository:
        assert call(repository) == call(MemoryRepository())
