"""Tags over HTTP: create, read, list in order, rename, delete, and what that
does to images."""

from e2e.http_servers import assert_error, created, json_of


def all_tags(client):
    return json_of(client.get("/tags"), 200)["results"]


def test_create_read_and_conflicts(client):
    tag = json_of(client.post("/tags", json={"name": "  Knee  "}), 201)
    assert tag == {"id": tag["id"], "name": "Knee", "image_count": 0, "aliases": []}  # trimmed
    assert json_of(client.get(f"/tags/{tag['id']}"), 200) == tag

    taken = assert_error(client.post("/tags", json={"name": "Knee"}), 409)
    assert taken["tag"] == {"id": tag["id"], "name": "Knee"}
    other_case = json_of(client.post("/tags", json={"name": "knee"}), 201)  # names are case-sensitive
    assert other_case["id"] != tag["id"]


def test_tags_are_listed_alphabetically_case_folded_ties_by_exact_name(client):
    for name in ["beta", "Alpha", "alpha", "Gamma", "ähre"]:
        json_of(client.post("/tags", json={"name": name}), 201)
    listed = [tag["name"] for tag in all_tags(client) if tag["name"] in {"beta", "Alpha", "alpha", "Gamma", "ähre"}]
    assert listed == ["Alpha", "alpha", "beta", "Gamma", "ähre"]

    first = json_of(client.get("/tags", params={"limit": 1}), 200)
    assert len(first["results"]) == 1 and first["meta"]["has_more_pages"] is True
    total = first["meta"]["total_results"]
    last = json_of(client.get("/tags", params={"limit": 1, "page": total - 1}), 200)
    assert last["meta"] == {"current_page": total - 1, "has_more_pages": False, "total_results": total}


def test_rename_shows_on_every_image_and_refuses_a_taken_name(client):
    image = json_of(client.post("/upload", json={"filename": "a.png", "image_data": "AAAA", "tags": ["Spine"]}), 201)
    spine = image["tags"][0]
    json_of(client.post("/tags", json={"name": "Hip"}), 201)

    renamed = json_of(client.put(f"/tags/{spine['id']}", json={"name": "Lumbar spine"}), 200)
    assert renamed == {"id": spine["id"], "name": "Lumbar spine", "image_count": 1, "aliases": []}
    assert json_of(client.get(f"/images/{image['id']}"), 200)["tags"] == [{"id": spine["id"], "name": "Lumbar spine"}]
    assert json_of(client.put(f"/tags/{spine['id']}", json={"name": "Lumbar spine"}), 200) == renamed  # same name

    taken = assert_error(client.put(f"/tags/{spine['id']}", json={"name": "Hip"}), 409)
    assert taken["tag"]["name"] == "Hip"
    assert json_of(client.get(f"/tags/{spine['id']}"), 200) == renamed


def test_delete_removes_the_tag_from_images_and_keeps_the_images(client):
    image = created(client, "/upload", {"filename": "b.png", "image_data": "AAAA", "tags": ["Wrist", "Left"]})
    wrist = next(tag for tag in image["tags"] if tag["name"] == "Wrist")

    response = client.delete(f"/tags/{wrist['id']}")
    assert response.status_code == 204 and response.content == b""
    assert [tag["name"] for tag in json_of(client.get(f"/images/{image['id']}"), 200)["tags"]] == ["Left"]
    assert_error(client.get(f"/tags/{wrist['id']}"), 404)
    assert_error(client.get(f"/tags/{wrist['id']}/images"), 404)
    assert_error(client.delete(f"/tags/{wrist['id']}"), 404)
    assert "Wrist" not in [tag["name"] for tag in all_tags(client)]


def test_image_tags_are_replaced_and_missing_tags_created(client):
    image = json_of(client.post("/upload", json={"filename": "c.png", "image_data": "AAAA", "tags": ["Elbow"]}), 201)
    updated = json_of(client.put(f"/images/{image['id']}", json={"tags": ["Ankle", "elbow", "Ankle"]}), 200)
    assert [tag["name"] for tag in updated["tags"]] == ["Ankle", "elbow"]
    assert {"Ankle", "elbow", "Elbow"} <= {tag["name"] for tag in all_tags(client)}
    assert json_of(client.put(f"/images/{image['id']}", json={"tags": []}), 200)["tags"] == []
