"""A search is bounded: more than 64 terms is a 400 naming the limit, in
milliseconds however many there are, and the server answers the next
request as ever. On SQLite and on PostgreSQL."""

import time

import pytest

from e2e.http_servers import assert_error, created, json_of
from inprocess.apps import in_process, local_config, quiet
from tim.entrypoints.http.app import create_app


@pytest.fixture(params=["sqlite", "postgres"])
def api(request, tmp_path):
    settings = {}
    if request.param == "postgres":
        settings["database_url"] = request.getfixturevalue("postgres_databases")()
    with in_process(create_app(local_config(tmp_path, **settings), access_log=quiet())) as client:
        yield client


def search(client, **parameters):
    return client.get("/search/images", params=parameters)


def test_64_terms_are_allowed_and_65_are_not(api):
    created(api, "/upload", {"filename": "a.png", "image_data": "YQ==", "tags": ["t1", "t2"]})
    sixty_three = "|".join(f"t%{n}" for n in range(1, 64))
    assert json_of(search(api, exact_tags="t1", match_tags=sixty_three), 200)["meta"]["total_results"] == 0
    error = assert_error(search(api, exact_tags="t1|t2", match_tags=sixty_three), 400, "match_tags")
    assert "64" in error["message"]


@pytest.mark.parametrize("terms", [1_000, 10_000])
def test_a_flood_of_terms_is_refused_at_once_and_harms_nothing(api, terms):
    flood = "|".join(["x"] * terms)  # 10,000 terms: about as long a URL as httpx will send
    began = time.perf_counter()
    response = search(api, match_tags=flood)
    elapsed = time.perf_counter() - began
    assert "64" in assert_error(response, 400, "match_tags")["message"]
    assert elapsed < 1, f"{terms} terms took {elapsed:.2f} s"
    assert json_of(api.get("/images"), 200)["meta"]["total_results"] >= 0
    assert json_of(search(api, exact_tags="t1"), 200)
