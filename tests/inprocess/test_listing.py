"""Listing, paging, ordering, date bounds, uploaded_only and search over HTTP,
on a catalogue made once for this module (its tests only read)."""

import pytest

from e2e.http_servers import json_of, next_second


@pytest.fixture(scope="module")
def catalog(client):
    """Five images: A and B, then, at least a second later, C, D and E.
    A and E are pending (never uploaded); the others are uploaded. `first` is
    B's created_timestamp and `second` C's; under load the clock may tick
    between any two images, so `created` holds what the server recorded for
    each, and no test assumes two images share a second."""

    def pending(tags):
        return json_of(client.post("/images", json={"filename": "p.dcm", "size": 10, "tags": tags}), 201)["id"]

    def uploaded(tags):
        image = json_of(client.post("/upload", json={"filename": "u.dcm", "image_data": "AAAA", "tags": tags}), 201)
        return image["id"], image["created_timestamp"]

    a = pending(["Chest", "CT"])
    b, first = uploaded(["chest"])
    next_second(first)
    c, second = uploaded(["Chest", "MRI"])
    d, _ = uploaded(["Head_CT"])
    e = pending([])
    tags = {tag["name"]: tag["id"] for tag in json_of(client.get("/tags"), 200)["results"]}
    recorded = {image["id"]: image["created_timestamp"] for image in json_of(client.get("/images"), 200)["results"]}
    ids = {"A": a, "B": b, "C": c, "D": d, "E": e}
    created = {name: recorded[image_id] for name, image_id in ids.items()}
    return ids | {"first": first, "second": second, "created": created, "tags": tags}


def created_within(catalog, start, end):
    """The rule restated: newest first, the images created within [start, end]."""
    return "".join(name for name in "EDCBA" if start <= catalog["created"][name] <= end)


def names(catalog, page):
    by_id = {catalog[name]: name for name in "ABCDE"}
    return "".join(by_id[image["id"]] for image in page["results"])


def listed(client, catalog, path, **params):
    page = json_of(client.get(path, params=params), 200)
    return names(catalog, page), page["meta"]


def test_images_are_listed_newest_first_ties_by_id_descending(client, catalog):
    order, meta = listed(client, catalog, "/images")
    assert order == "EDCBA"
    assert meta == {"current_page": 0, "has_more_pages": False, "total_results": 5, "next_cursor": None}


def test_pages_neither_overlap_nor_skip(client, catalog):
    pages = [listed(client, catalog, "/images", limit=2, page=number) for number in range(4)]
    assert [order for order, _ in pages] == ["ED", "CB", "A", ""]
    assert [meta["has_more_pages"] for _, meta in pages] == [True, True, False, False]
    assert [meta["current_page"] for _, meta in pages] == [0, 1, 2, 3]
    assert {meta["total_results"] for _, meta in pages} == {5}


def test_date_bounds_are_inclusive_and_zero_is_unbounded(client, catalog):
    first, second, created = catalog["first"], catalog["second"], catalog["created"]
    assert listed(client, catalog, "/images", start_timestamp=second)[0] == "EDC"
    assert listed(client, catalog, "/images", end_timestamp=first)[0] == "BA"
    for name, timestamp in created.items():  # both bounds on an image's own second
        order = listed(client, catalog, "/images", start_timestamp=timestamp, end_timestamp=timestamp)[0]
        assert name in order and order == created_within(catalog, timestamp, timestamp)
    assert listed(client, catalog, "/images", start_timestamp=0, end_timestamp=0)[0] == "EDCBA"
    order, meta = listed(client, catalog, "/images", end_timestamp=created["A"] - 1)
    assert order == "" and meta["total_results"] == 0


@pytest.mark.parametrize(
    "flag, expected", [("true", "DCB"), ("TRUE", "DCB"), ("1", "DCB"), ("false", "EDCBA"), ("0", "EDCBA")]
)
def test_uploaded_only(client, catalog, flag, expected):
    assert listed(client, catalog, "/images", uploaded_only=flag)[0] == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"exact_tags": "Chest"}, "CA"),  # exact tags are case-sensitive
        ({"exact_tags": "chest"}, "B"),
        ({"match_tags": "chest"}, "CBA"),  # match patterns are not
        ({"match_tags": "%ct"}, "DA"),
        ({"match_tags": "HEAD_ct"}, "D"),  # `_` is literal
        ({"match_tags": "head%"}, "D"),
        ({"match_tags": "h_ad%"}, ""),
        ({"exact_tags": "Chest|MRI"}, "C"),  # pipe-delimited: all of them
        ({"exact_tags": ["Chest", "MRI"]}, "C"),  # or a repeated parameter
        ({"exact_tags": "Chest||"}, "CA"),  # empty segments are ignored
        ({"match_tags": ["chest", "m%"]}, "C"),
        ({"exact_tags": "Chest", "match_tags": "c%"}, "CA"),
        ({"exact_tags": "Chest", "uploaded_only": "true"}, "C"),
        ({"match_tags": "chest", "end_timestamp": "FIRST"}, "BA"),
        ({"match_tags": "chest", "start_timestamp": "SECOND"}, "C"),
        ({"exact_tags": "Nope"}, ""),
    ],
)
def test_search(client, catalog, params, expected):
    bounds = {"FIRST": str(catalog["first"]), "SECOND": str(catalog["second"])}
    params = {key: bounds.get(value, value) if isinstance(value, str) else value for key, value in params.items()}
    order, meta = listed(client, catalog, "/search/images", **params)
    assert order == expected
    assert meta["total_results"] == len(expected)


def test_search_pages(client, catalog):
    order, meta = listed(client, catalog, "/search/images", match_tags="chest", limit=2)
    assert (order, meta.pop("next_cursor") is not None) == ("CB", True)
    assert meta == {"current_page": 0, "has_more_pages": True, "total_results": 3}
    assert listed(client, catalog, "/search/images", match_tags="chest", limit=2, page=1)[0] == "A"


def test_a_tags_images(client, catalog):
    chest = catalog["tags"]["Chest"]
    assert listed(client, catalog, f"/tags/{chest}/images")[0] == "CA"
    assert listed(client, catalog, f"/tags/{chest}/images", uploaded_only="1")[0] == "C"
    assert listed(client, catalog, f"/tags/{chest}/images", start_timestamp=catalog["second"])[0] == "C"
    assert listed(client, catalog, f"/tags/{chest}/images", limit=1, page=1) == (
        "A",
        {"current_page": 1, "has_more_pages": False, "total_results": 2, "next_cursor": None},
    )
