"""The served OpenAPI document describes exactly the routes the app serves,
is a valid OpenAPI 3.1 document, and real responses fit its schemas."""

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from e2e.http_servers import created, json_of
from tim.entrypoints.bootstrap import Config
from tim.entrypoints.http.app import create_app
from tim.entrypoints.http.queries import NONE, Endpoint

METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


@pytest.fixture(scope="module")
def document(module_server):
    with module_server.client() as client:
        return json_of(client.get("/openapi.json"), 200)


def documented_path(route):
    """The route's path as OpenAPI templates it: relative to /v1, without converters ({name:path})."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", route.path.removeprefix("/v1"))


def served_operations():
    """(path, method) for every route of the app, paths relative to /v1."""
    operations = set()
    for route in create_app(Config()).routes:
        path = documented_path(route)
        assert route.path.startswith("/v1/"), f"{route.path} is not under /v1"
        operations |= {(path, method) for method in METHODS if method != "head" and hasattr(route.endpoint, method)}
    return operations


def documented_operations(document):
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_route_is_documented_and_every_documented_route_exists(document):
    assert documented_operations(document) == served_operations()


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["servers"] == [{"url": "/v1"}]
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_documented_path_parameters_match_the_templates(document):
    for path, item in document["paths"].items():
        declared = {p["name"] for p in resolved_parameters(document, item.get("parameters", [])) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_each_operation_takes_exactly_the_query_parameters_it_documents(document):
    for route in create_app(Config()).routes:
        # Endpoint refuses the query parameters an operation does not declare.
        assert issubclass(route.endpoint, Endpoint), route.path
        item = document["paths"][documented_path(route)]
        for method in METHODS:
            if method == "head" or not hasattr(route.endpoint, method):
                continue
            documented = resolved_parameters(document, item.get("parameters", []) + item[method].get("parameters", []))
            declared = route.endpoint.parameters.get(method, NONE)
            assert {*declared.single, *declared.lists} == {p["name"] for p in documented if p["in"] == "query"}, (
                method,
                route.path,
            )


def resolved_parameters(document, parameters):
    prefix = "#/components/parameters/"
    shared = document["components"]["parameters"]
    return [shared[p["$ref"].removeprefix(prefix)] if "$ref" in p else p for p in parameters]


def check(document, schema_name, instance):
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(instance)]
    assert not errors, (schema_name, instance, errors)


def test_real_responses_fit_the_documented_schemas(document, client):
    tag = json_of(client.post("/tags", json={"name": "Schema"}), 201)
    check(document, "Tag", tag)
    check(document, "Error", client.post("/tags", json={"name": "Schema"}).json())
    check(document, "Error", client.post("/tags", json={"name": ""}).json())
    check(document, "Error", client.get("/nowhere").json())
    check(document, "TagBrowsePage", json_of(client.get("/tags"), 200))

    pending = created(client, "/images", {"filename": "a.dcm", "size": 3, "tags": ["Schema"]})
    check(document, "ImageCreatedResponse", pending)
    check(document, "ImageRecord", json_of(client.get(f"/images/{pending['id']}"), 200))
    uploaded = created(client, "/upload", {"filename": "b.dcm", "image_data": "AAAA", "tags": ["Schema"]})
    check(document, "ImageRecord", uploaded)
    check(document, "ImageBrowsePage", json_of(client.get("/images"), 200))
    check(document, "ImageBrowsePage", json_of(client.get("/search/images", params={"exact_tags": "Schema"}), 200))
    check(document, "ImageBrowsePage", json_of(client.get(f"/tags/{tag['id']}/images"), 200))

    # The inputs' schemas accept what the service accepts, and refuse unknown fields as it does.
    check(document, "ImageCreateInput", {"filename": "a.dcm", "size": 3, "tags": ["x"]})
    check(document, "UploadCreateInput", {"filename": "a.dcm", "image_data": "AAAA"})
    check(document, "TagUpdateInput", {"name": "x"})
    with pytest.raises(AssertionError):
        check(document, "ImageCreateInput", {"filename": "a.dcm", "size": 3, "created_by": "me"})
