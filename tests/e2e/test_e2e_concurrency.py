"""Concurrent writes through a running server."""

import threading
from concurrent.futures import ThreadPoolExecutor

from e2e.http_servers import json_of

CLIENTS = 20


def test_concurrent_creates_with_the_same_new_tags_make_each_tag_once(client, module_server):
    names = ["Fresh", "fresh", "Also new"]
    start = threading.Barrier(CLIENTS)

    def create(number):
        with module_server.client() as own_client:  # one connection per client
            start.wait()
            body = {"filename": f"{number}.dcm", "size": 100, "tags": names}
            return own_client.post("/images", json=body)

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(create, range(CLIENTS)))

    assert [response.status_code for response in responses] == [201] * CLIENTS, [r.text for r in responses]
    tags = json_of(client.get("/tags"), 200)["results"]
    assert sorted(tag["name"] for tag in tags) == sorted(names)
    expected = sorted(({"id": tag["id"], "name": tag["name"]} for tag in tags), key=lambda tag: tag["id"])
    for response in responses:
        image = json_of(client.get(f"/images/{response.json()['id']}"), 200)
        assert sorted(image["tags"], key=lambda tag: tag["id"]) == expected
    assert json_of(client.get("/images"), 200)["meta"]["total_results"] == CLIENTS
