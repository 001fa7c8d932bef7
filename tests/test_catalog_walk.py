"""`tim export` walks the catalog by cursor: images added and deleted while
it goes shift nothing, so each image that stays is listed exactly once."""

from domain.managers import in_memory_manager
from tim.domain.model.paging import MAX_PAGE_SIZE
from tim.entrypoints.catalogs import LocalCatalog


def test_a_walk_lists_each_image_once_while_others_come_and_go():
    manager = in_memory_manager()
    ids = [manager.upload_image(created_by="ana", filename="a.png", data=b"x", tags=["scan"]).id for _ in range(250)]
    for filters in ({}, {"exact_tags": "scan"}, {"exclude_tags": "other"}):
        seen, added, walk = [], [], LocalCatalog(manager, "ana").records(filters)
        for number, (_, record) in enumerate(walk):
            if number % MAX_PAGE_SIZE == 0:  # between pages: a newer image, and one gone from further on
                added.append(manager.upload_image(created_by="bo", filename="b.png", data=b"y", tags=["scan"]).id)
                manager.delete_image(ids.pop(0), by="bo")
            seen.append(record["id"])
        assert len(seen) == len(set(seen)) and set(ids) <= set(seen) and not set(added) & set(seen)
        ids = sorted(set(ids) | set(added))
