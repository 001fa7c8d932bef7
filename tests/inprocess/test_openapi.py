"""The served OpenAPI document: valid OpenAPI 3.1, exactly the operations
the app serves with the access each needs, the limits configured, schemas
that allow exactly what the domain accepts, and real responses that fit
them. (schemathesis checks the whole of it against a running server:
tests/e2e/test_http_schemathesis.py.)"""

import base64
import re
import unicodedata

import jsonschema_rs
import pytest
from hypothesis import given, strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from e2e.http_servers import created, json_of
from inprocess.apps import in_process, local_config, quiet
from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import parse_filename, parse_principal
from tim.domain.model.tags import parse_tag_name
from tim.entrypoints.http.api import OPERATIONS
from tim.entrypoints.http.app import create_app
from tim.entrypoints.http.bodies import decode_image_data

METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


@pytest.fixture(scope="module")
def document(client):
    return json_of(client.get("/openapi.json"), 200)


def operations_of(document):
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "/v1"}]
    operation_ids = [operation["operationId"] for operation in operations_of(document).values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_routes_served_are_the_documented_operations(client, document):
    served = set()
    for route in client.app.routes:
        path = route.path.removeprefix("/v1")
        assert path != route.path, f"{route.path} is not under /v1"
        template = re.sub(r"{(\w+):\w+}", r"{\1}", path)  # `{name:path}`: a name may hold a slash
        served |= {(template, method.lower()) for method in route.methods if method != "HEAD"}
    assert served == set(operations_of(document))


def test_documented_path_parameters_match_the_templates(document):
    for path, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_reading_needs_read_writing_needs_write_and_only_files_and_this_document_are_public(document):
    public = {(op.path, op.method) for op in OPERATIONS if op.scope is None}
    assert public == {("/blobs/{key}", "GET"), ("/blobs/{key}", "PUT"), ("/openapi.json", "GET")}
    for operation in OPERATIONS:
        if operation.scope is not None:
            assert operation.scope.label == ("read" if operation.method == "GET" else "write"), operation.path
    for (path, method), operation in operations_of(document).items():
        if (path, method.upper()) in public:
            assert operation["security"] == [] and "401" not in operation["responses"]
        else:
            assert "security" not in operation  # the document's default: a bearer credential
            assert {"401", "403"} <= set(operation["responses"])
            assert operation["description"].endswith(f"Needs the {'read' if method == 'get' else 'write'} scope.")
    assert document["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_document_states_the_configured_limits(tmp_path):
    app = create_app(local_config(tmp_path, max_image_bytes=1000, max_tags_per_image=3), max_inline_upload_bytes=5000,
                     access_log=quiet())  # fmt: skip
    with in_process(app) as client:
        schemas = json_of(client.get("/openapi.json"), 200)["components"]["schemas"]
    size = schemas["ImageCreateInput"]["properties"]["size"]
    assert (size["type"], size["minimum"], size["maximum"]) == ("integer", 1, 1000)
    assert "at most 3 distinct" in schemas["ImageUpdateInput"]["properties"]["tags"]["description"]
    assert "at most 5000 bytes" in schemas["UploadCreateInput"]["properties"]["image_data"]["description"]


def test_bodies_are_objects_of_exactly_their_fields(document):
    schemas = document["components"]["schemas"]
    for name, required in [
        ("ImageCreateInput", ["filename", "size"]),
        ("ImageUpdateInput", ["tags"]),
        ("UploadCreateInput", ["filename", "image_data"]),
        ("TagInput", ["name"]),
    ]:
        assert schemas[name]["additionalProperties"] is False and schemas[name]["required"] == required
    check(document, "ImageCreateInput", {"filename": "a.dcm", "size": 3, "tags": ["x"]})
    check(document, "UploadCreateInput", {"filename": "a.dcm", "image_data": "AAAA"})
    check(document, "TagInput", {"name": "x"})
    with pytest.raises(AssertionError):
        check(document, "ImageCreateInput", {"filename": "a.dcm", "size": 3, "created_by": "me"})


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


# The patterns allow exactly what the domain accepts. Only text already in
# NFC is drawn: normalizing can change a name's length, which no pattern
# sees; and only what UTF-8 can carry (no lone surrogates), as HTTP does.
names = st.text(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from(" \t\u3000\u200b\u202e|/\\%\x00\x85\u0301e")), max_size=170
).filter(lambda text: unicodedata.is_normalized("NFC", text))


def accepts(parse, value) -> bool:
    try:
        parse(value)
    except InvalidInput:
        return False
    return True


def matches(schema, text) -> bool:
    # As schemathesis reads patterns, and as JSON Schema says: ECMA-262, where
    # `$` is the end of the text (Python's `re` also lets a newline follow).
    return jsonschema_rs.validator_for(schema).is_valid(text)


@pytest.fixture(scope="module")
def rules(document):
    """The schemas of the values the domain checks (small: hypothesis shows them)."""
    schemas = document["components"]["schemas"]
    (created_by,) = [p for p in document["paths"]["/images"]["get"]["parameters"] if p["name"] == "created_by"]
    return {
        "tag name": schemas["TagInput"]["properties"]["name"],
        "filename": schemas["ImageCreateInput"]["properties"]["filename"],
        "created_by": created_by["schema"],
        "image_data": schemas["UploadCreateInput"]["properties"]["image_data"],
    }


@given(name=names)
def test_the_tag_name_schema_allows_exactly_the_valid_names(rules, name):
    assert matches(rules["tag name"], name) == accepts(parse_tag_name, name), name


@given(name=names | st.text(st.sampled_from("a .\u00e9"), min_size=250, max_size=260))
def test_the_filename_schema_allows_exactly_the_valid_filenames(rules, name):
    assert matches(rules["filename"], name) == accepts(parse_filename, name), name


@given(name=names)
def test_the_created_by_schema_allows_exactly_the_principals_and_the_empty_filter(rules, name):
    assert matches(rules["created_by"], name) == (name == "" or accepts(parse_principal, name)), name


@given(data=st.binary(max_size=12), text=st.text("ABCDQgwAE=+/ \n", max_size=12))
def test_the_base64_schema_allows_exactly_the_canonical_spelling_of_some_bytes(rules, data, text):
    schema = rules["image_data"]
    assert matches(schema, base64.b64encode(data).decode()) == (data != b"")
    try:
        decoded = decode_image_data(text)
    except InvalidInput:
        decoded = b""
    assert matches(schema, text) == (decoded != b""), text
