"""The OpenAPI 3.1 document of what this app serves, at /v1/openapi.json.

Written by hand from the routes in app.py; a test compares the two, so a
route cannot be added or removed without the document following.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tim.domain.model.images import MAX_FILENAME_LENGTH
from tim.domain.model.paging import MAX_PAGE_SIZE
from tim.domain.model.tags import MAX_TAG_NAME_LENGTH
from tim.entrypoints.http.queries import Endpoint
from tim.entrypoints.http.responses import JSONResponse

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema_name)}}}


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(schema_name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in statuses} | {
        "default": {"$ref": "#/components/responses/Error"}
    }


def _parameters(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _query(name: str, schema: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **more}


def _path(name: str, description: str) -> dict[str, Any]:
    # Any text is accepted: an id that is not a positive integer names no record (404).
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


FILTERS = ("start_timestamp", "end_timestamp", "uploaded_only", "created_by")
IMAGE_FILTERS = ("page", "limit", "cursor", *FILTERS)
SEARCH_TERMS = ("exact_tags", "match_tags", "any_tags", "exclude_tags", "exclude_match_tags", "untagged")
IMAGE_PAGE = {"200": _json("ImageBrowsePage", "A page of image records, newest first")}

PATHS: dict[str, dict[str, Any]] = {
    "/images": {
        "get": {
            "operationId": "listImages",
            "tags": ["images"],
            "summary": "List all images, newest created first",
            "parameters": _parameters(*IMAGE_FILTERS),
            "responses": IMAGE_PAGE | _errors(400),
        },
        "post": {
            "operationId": "createImage",
            "tags": ["images"],
            "summary": "Create an image record; PUT the file to the returned upload_url",
            "requestBody": _body("ImageCreateInput"),
            "responses": {"201": _json("ImageCreatedResponse", "The new record's id and where to PUT the file")}
            | _errors(400, 413),
        },
    },
    "/images/{image_id}": {
        "parameters": _parameters("image_id"),
        "get": {
            "operationId": "getImage",
            "tags": ["images"],
            "summary": "Get an image record",
            "responses": {"200": _json("ImageRecord", "The image record")} | _errors(404),
        },
        "put": {
            "operationId": "updateImage",
            "tags": ["images"],
            "summary": "Replace the image's tags (missing tags are created)",
            "requestBody": _body("ImageUpdateInput"),
            "responses": {"200": _json("ImageRecord", "The updated record")} | _errors(400, 404, 413),
        },
        "delete": {
            "operationId": "deleteImage",
            "tags": ["images"],
            "summary": "Delete an image record and its file",
            "responses": {"204": {"description": "Deleted"}} | _errors(404),
        },
    },
    "/images/{image_id}/tags": {
        "parameters": _parameters("image_id"),
        "patch": {
            "operationId": "editImageTags",
            "tags": ["images"],
            "summary": "Add and remove tags, keeping the others (concurrent edits never undo each other)",
            "description": "Missing tags to add are created; an alias means its tag; removing a tag the image "
            "lacks is not an error. `add` and `remove` may each be empty or absent, not both.",
            "requestBody": _body("TagEditInput"),
            "responses": {"200": _json("ImageRecord", "The record with its tags now")} | _errors(400, 404, 413),
        },
    },
    "/images/tags": {
        "post": {
            "operationId": "editTagsOfImages",
            "tags": ["images"],
            "summary": "Add and remove tags on up to 1,000 images at once, all or nothing",
            "description": "If any id names no image, nothing changes: 404 listing those ids in `details`.",
            "requestBody": _body("BulkTagEditInput"),
            "responses": {"200": _json("BulkTagEditResult", "How many images' tags changed")}
            | _errors(400, 404, 413),
        },
    },
    "/images/{image_id}/history": {
        "parameters": _parameters("image_id"),
        "get": {
            "operationId": "getImageHistory",
            "tags": ["history"],
            "summary": "Every change to what the image carries, newest first (kept after it is deleted)",
            "responses": {"200": _json("EventList", "The image's events")} | _errors(404),
        },
    },
    "/images/{image_id}/complete": {
        "parameters": _parameters("image_id"),
        "post": {
            "operationId": "completeUpload",
            "tags": ["images"],
            "summary": "Confirm that the file was uploaded (idempotent)",
            "description": "Checks that the stored file exists with exactly the declared size and marks "
            "the record uploaded. 409 when it is missing or has another size (a wrong-size file is removed).",
            "responses": {"200": _json("ImageRecord", "The uploaded record")} | _errors(404, 409),
        },
    },
    "/upload": {
        "post": {
            "operationId": "uploadImage",
            "tags": ["upload"],
            "summary": "Upload a small image and create its record in one step",
            "description": "The whole request body may be at most 4,152,360 bytes by default "
            "(TIM_MAX_INLINE_UPLOAD_BYTES); larger bodies get 413.",
            "requestBody": _body("UploadCreateInput"),
            "responses": {"201": _json("ImageRecord", "The new, uploaded record")} | _errors(400, 413),
        },
    },
    "/tags": {
        "get": {
            "operationId": "listTags",
            "tags": ["tags"],
            "summary": "List all tags in alphabetical order (case-folded, ties by exact name)",
            "description": "With `prefix`: the tags whose case-folded name starts with the case-folded prefix, "
            "most used first (ties alphabetical), for autocomplete. Tags are tag records, with image_count "
            "and aliases.",
            "parameters": _parameters("page", "limit", "prefix"),
            "responses": {"200": _json("TagBrowsePage", "A page of tags")} | _errors(400),
        },
        "post": {
            "operationId": "createTag",
            "tags": ["tags"],
            "summary": "Create a tag",
            "description": "A name that is a tag's or an alias's is a 409 carrying the tag it means.",
            "requestBody": _body("TagCreateInput"),
            "responses": {"201": _json("TagRecord", "The new tag")} | _errors(400, 409, 413),
        },
    },
    "/tags/collisions": {
        "get": {
            "operationId": "listTagCollisions",
            "tags": ["tags"],
            "summary": "Groups of two or more tags whose names are equal after case folding and NFC",
            "responses": {"200": _json("TagCollisions", "The groups, by folded name")},
        },
    },
    "/tags/{tag_id}/merge": {
        "parameters": _parameters("tag_id"),
        "post": {
            "operationId": "mergeTag",
            "tags": ["tags"],
            "summary": "Merge the tag into another: its images get that tag, its name becomes an alias of it",
            "description": "404 when either tag does not exist, 400 when `into` is the tag itself.",
            "requestBody": _body("MergeInput"),
            "responses": {"200": _json("TagRecord", "The surviving tag")} | _errors(400, 404, 413),
        },
    },
    "/tags/{tag_id}/aliases/{name}": {
        "parameters": _parameters("tag_id") + [_path("name", "The alias (a `/` in it sent as %2F)")],
        "delete": {
            "operationId": "deleteTagAlias",
            "tags": ["tags"],
            "summary": "Make the alias mean nothing (its name is free again)",
            "responses": {"204": {"description": "Deleted"}} | _errors(404),
        },
    },
    "/tags/{tag_id}": {
        "parameters": _parameters("tag_id"),
        "get": {
            "operationId": "getTag",
            "tags": ["tags"],
            "summary": "Get a tag",
            "responses": {"200": _json("TagRecord", "The tag")} | _errors(404),
        },
        "put": {
            "operationId": "renameTag",
            "tags": ["tags"],
            "summary": "Rename a tag (every image carrying it shows the new name)",
            "requestBody": _body("TagUpdateInput"),
            "responses": {"200": _json("TagRecord", "The renamed tag")} | _errors(400, 404, 409, 413),
        },
        "delete": {
            "operationId": "deleteTag",
            "tags": ["tags"],
            "summary": "Delete a tag; it leaves every image, the images stay",
            "responses": {"204": {"description": "Deleted"}} | _errors(404),
        },
    },
    "/tags/{tag_id}/images": {
        "parameters": _parameters("tag_id"),
        "get": {
            "operationId": "listTagImages",
            "tags": ["tags"],
            "summary": "The tag's images, newest created first",
            "parameters": _parameters(*IMAGE_FILTERS),
            "responses": IMAGE_PAGE | _errors(400, 404),
        },
    },
    "/search/images": {
        "get": {
            "operationId": "searchImages",
            "tags": ["search"],
            "summary": "Images matching every tag condition given; newest first",
            "description": "At least one of exact_tags, match_tags, any_tags, exclude_tags, exclude_match_tags "
            "and untagged must be given; at most 64 terms in all. An exact name that is an alias means its tag.",
            "parameters": _parameters(*SEARCH_TERMS, *IMAGE_FILTERS),
            "responses": IMAGE_PAGE | _errors(400),
        },
    },
    "/export/images": {
        "get": {
            "operationId": "exportImages",
            "tags": ["search"],
            "summary": "Every matching image, newest first, streamed as NDJSON (one ImageRecord a line)",
            "description": "Takes the parameters of /search/images without paging; tag parameters are optional "
            "(none: every image). Each record has a fresh download url.",
            "parameters": _parameters(*SEARCH_TERMS, *FILTERS),
            "responses": {
                "200": {
                    "description": "One ImageRecord (JSON) a line",
                    "content": {"application/x-ndjson": {"schema": _ref("ImageRecord")}},
                }
            }
            | _errors(400),
        },
    },
    "/history": {
        "get": {
            "operationId": "listHistory",
            "tags": ["history"],
            "summary": "Events of every image (and tag-wide ones), newest first, by cursor",
            "parameters": _parameters("since", "by", "history_image_id", "limit", "cursor"),
            "responses": {"200": _json("HistoryPage", "A page of events")} | _errors(400),
        },
    },
    "/blobs/{key}": {
        "parameters": [
            _path("key", "The stored object, chosen by tim"),
            _query("expires", {"type": "string"}, "Part of the signature: when the URL expires", required=True),
            _query("signature", {"type": "string"}, "HMAC-SHA256 signature of the URL", required=True),
            _query("length", {"type": "string"}, "Part of an upload URL's signature: the body length"),
        ],
        "put": {
            "operationId": "putFile",
            "tags": ["files"],
            "summary": "Upload an image's file to its signed upload_url (local stores)",
            "description": "The body is the raw file, exactly `size` bytes. Refused with 400 (and "
            "nothing stored) when it has another length; 409 once the file is stored; 403 when the "
            "URL is tampered with, expired or meant for another method or object.",
            "parameters": [
                _query("length", {"type": "string"}, "Part of the signature: the body length", required=True)
            ],
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            "responses": {"200": _json("ImageRecord", "Stored: the record, now uploaded")}
            | _errors(400, 403, 404, 409),
        },
        "get": {
            "operationId": "getFile",
            "tags": ["files"],
            "summary": "Download an image's file from its signed url (local stores)",
            "description": "Honours a single byte range (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`) with 206; "
            "a range the file does not have is a 416 with `Content-Range: bytes */SIZE`; several ranges, or "
            "another unit, get the whole file (200). Answers carry `Cache-Control: private, no-store`.",
            "parameters": [
                {
                    "name": "Range",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "One byte range, e.g. bytes=0-1023",
                },
                {
                    "name": "If-Range",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The file's ETag: send the range only if the file is still that one",
                },
            ],
            "responses": {
                "200": {
                    "description": "The file, with Content-Length and a Content-Disposition naming it",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {
                    "description": "The range asked for, with Content-Range",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
            }
            | _errors(403, 404, 416),
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "tags": ["meta"],
            "summary": "This document",
            "responses": {
                "200": {"description": "The OpenAPI document", "content": {JSON: {"schema": {"type": "object"}}}}
            },
        },
    },
}

_INTEGER = {"type": "integer"}
_NAMES = {"type": "array", "items": {"type": "string"}}
_TIMESTAMP = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_TAG_NAMES = _STRINGS | {
    "description": "Tag names (missing tags are created, repeats count once); at most TIM_MAX_TAGS_PER_IMAGE (256)"
}
_FILENAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_FILENAME_LENGTH,
    "description": "Normalized to Unicode NFC; not only white space; no `/`, `\\`, control or format characters",
}

PARAMETERS = {
    "image_id": _path("image_id", "The image's id (a positive integer)"),
    "tag_id": _path("tag_id", "The tag's id (a positive integer)"),
    "page": _query("page", {"type": "integer", "minimum": 0, "default": 0}, "Result page to return, 0 indexed"),
    "limit": _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": MAX_PAGE_SIZE},
        f"How many items to return at one time (max {MAX_PAGE_SIZE})",
    ),
    "start_timestamp": _query(
        "start_timestamp",
        _TIMESTAMP,
        "Records created on or after this time, in seconds since the epoch (0: unbounded)",
    ),
    "end_timestamp": _query(
        "end_timestamp",
        _TIMESTAMP,
        "Records created on or before this time, in seconds since the epoch (0: unbounded)",
    ),
    "uploaded_only": _query(
        "uploaded_only",
        {"type": "boolean", "default": False},
        "Only records whose file is stored: true, false, 1 or 0 (case-insensitive)",
    ),
    "created_by": _query(
        "created_by",
        {"type": "string"},
        "Only records created by this principal (exact match; empty: everyone)",
    ),
    "exact_tags": _query(
        "exact_tags",
        _STRINGS,
        "Tags the image must carry (case-sensitive), pipe-delimited; may be repeated",
        explode=True,
    ),
    "match_tags": _query(
        "match_tags",
        _STRINGS,
        "Patterns that each must match one of the image's tags, case-insensitive, `%` as wildcard; "
        "pipe-delimited; may be repeated",
        explode=True,
    ),
    "any_tags": _query(
        "any_tags", _STRINGS, "Tags of which the image carries at least one (OR); pipe-delimited", explode=True
    ),
    "exclude_tags": _query(
        "exclude_tags", _STRINGS, "Tags the image must not carry (NOT); pipe-delimited", explode=True
    ),
    "exclude_match_tags": _query(
        "exclude_match_tags",
        _STRINGS,
        "Patterns (as match_tags) that none of the image's tags may match; pipe-delimited",
        explode=True,
    ),
    "untagged": _query("untagged", {"type": "boolean"}, "true: only images with no tag at all"),
    "cursor": _query(
        "cursor",
        {"type": "string"},
        "A page's next_cursor: the page after it, with the same filters (not with page); images added "
        "meanwhile never shift it",
    ),
    "prefix": _query(
        "prefix", {"type": "string"}, "Only tags whose case-folded name starts with this; most used first"
    ),
    "since": _query("since", _TIMESTAMP, "Events at or after this time, in seconds since the epoch"),
    "by": _query("by", {"type": "string"}, "Events made by this principal"),
    "history_image_id": _query("image_id", {"type": "integer", "minimum": 1}, "Events of this image"),
}

SCHEMAS: dict[str, Any] = {
    "ImageCreateInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["filename", "size"],
        "properties": {
            "filename": _FILENAME,
            "size": {"type": "integer", "minimum": 1, "description": "Bytes; at most TIM_MAX_UPLOAD_BYTES"},
            "tags": _TAG_NAMES,
        },
    },
    "ImageCreatedResponse": {
        "type": "object",
        "required": ["id", "upload_url"],
        "properties": {
            "id": _INTEGER,
            "upload_url": {
                "type": "string",
                "description": "Absolute, time-limited URL to PUT exactly `size` bytes to",
            },
        },
    },
    "ImageUpdateInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["tags"],
        "properties": {"tags": _TAG_NAMES},
    },
    "UploadCreateInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["filename", "image_data"],
        "properties": {
            "filename": _FILENAME,
            "image_data": {"type": "string", "contentEncoding": "base64", "description": "The file, base64 encoded"},
            "tags": _TAG_NAMES,
        },
    },
    "ImageRecord": {
        "type": "object",
        "required": ["id", "created_by", "created_timestamp", "filename", "size", "tags", "uploaded_timestamp", "url"],
        "properties": {
            "id": _INTEGER,
            "created_by": {"type": "string", "description": "Who created the record"},
            "created_timestamp": {"type": "integer", "description": "Seconds since the epoch"},
            "filename": {"type": "string"},
            "size": _INTEGER,
            "tags": {"type": "array", "items": _ref("Tag")},
            "uploaded_timestamp": {"type": ["integer", "null"], "description": "Null until the file is stored"},
            "url": {
                "type": ["string", "null"],
                "description": "Null until the file is stored; then a time-limited download URL",
            },
        },
    },
    "ImageBrowsePage": {
        "type": "object",
        "required": ["results", "meta"],
        "properties": {
            "results": {"type": "array", "items": _ref("ImageRecord")},
            "meta": {
                "allOf": [_ref("PageMeta")],
                "required": ["next_cursor"],
                "properties": {
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": "Pass as `cursor` for the next page; null on the last",
                    }
                },
            },
        },
    },
    "Tag": {
        "type": "object",
        "description": "A tag as image records carry it",
        "required": ["id", "name"],
        "properties": {"id": _INTEGER, "name": {"type": "string"}},
    },
    "TagRecord": {
        "type": "object",
        "description": "A tag as the tag routes show it",
        "required": ["id", "name", "image_count", "aliases"],
        "properties": {
            "id": _INTEGER,
            "name": {"type": "string"},
            "image_count": {"type": "integer", "minimum": 0, "description": "Images carrying it, exactly"},
            "aliases": _NAMES | {"description": "Names that mean this tag (merged tags'), alphabetical"},
        },
    },
    "TagBrowsePage": {
        "type": "object",
        "required": ["results", "meta"],
        "properties": {"results": {"type": "array", "items": _ref("TagRecord")}, "meta": _ref("PageMeta")},
    },
    "TagCollisions": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["folded", "tags"],
                    "properties": {
                        "folded": {"type": "string", "description": "The name all of them fold to"},
                        "tags": {"type": "array", "items": _ref("TagRecord")},
                    },
                },
            }
        },
    },
    "MergeInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["into"],
        "properties": {"into": {"type": "integer", "description": "The tag that survives"}},
    },
    "TagEditInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"add": _TAG_NAMES, "remove": _NAMES},
    },
    "BulkTagEditInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["ids"],
        "properties": {
            "ids": {"type": "array", "items": _INTEGER, "minItems": 1, "maxItems": 1000},
            "add": _TAG_NAMES,
            "remove": _NAMES,
        },
    },
    "BulkTagEditResult": {
        "type": "object",
        "required": ["updated"],
        "properties": {"updated": {"type": "integer", "description": "How many of the images' tag sets changed"}},
    },
    "Event": {
        "type": "object",
        "required": ["id", "at", "by", "action", "image_id", "added", "removed", "details"],
        "properties": {
            "id": _INTEGER,
            "at": {"type": "integer", "description": "Seconds since the epoch"},
            "by": {"type": "string", "description": "Who made the change"},
            "action": {
                "type": "string",
                "enum": ["created", "uploaded", "tagged", "deleted", "tag_renamed", "tags_merged"],
            },
            "image_id": {"type": ["integer", "null"], "description": "Null for an event of a tag"},
            "added": _NAMES,
            "removed": _NAMES,
            "details": {"type": "object"},
        },
    },
    "EventList": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("Event")}},
    },
    "HistoryPage": {
        "type": "object",
        "required": ["results", "meta"],
        "properties": {
            "results": {"type": "array", "items": _ref("Event")},
            "meta": {
                "type": "object",
                "required": ["has_more_pages", "next_cursor"],
                "properties": {"has_more_pages": {"type": "boolean"}, "next_cursor": {"type": ["string", "null"]}},
            },
        },
    },
    "TagCreateInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "description": f"Normalized to Unicode NFC and trimmed of surrounding white space, then "
                f"1..{MAX_TAG_NAME_LENGTH} characters; no `|`, no control or format characters",
            }
        },
    },
    "TagUpdateInput": {"$ref": "#/components/schemas/TagCreateInput"},
    "PageMeta": {
        "type": "object",
        "required": ["current_page", "has_more_pages", "total_results"],
        "properties": {"current_page": _INTEGER, "has_more_pages": {"type": "boolean"}, "total_results": _INTEGER},
    },
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "description": "The fields at fault (400)",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "tag": {**_ref("Tag"), "description": "The tag that already has the name (409 from the tag routes)"},
        },
    },
}

ERROR_MEANINGS = {
    400: "Invalid input",
    401: "No credential, or one that is not valid: send Authorization: Bearer <token>",
    403: "The credential's scope does not allow this; or the signed URL is tampered with, expired or "
    "meant for something else",
    404: "No such record, or an id that is not a positive integer",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    416: "The file has no such range of bytes",
}
RESPONSES = {f"Error{status}": _json("Error", meaning) for status, meaning in ERROR_MEANINGS.items()} | {
    "Error": _json("Error", "Any other error (405, 500, 503, ...)")
}


# Who may call what (see auth.py): the API routes need a bearer credential,
# with the read scope for GET and write for the rest; the signed blob URLs
# and this document need none.
PUBLIC_PATHS = ("/blobs/{key}", "/openapi.json")
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (tim_..., from `tim token create`) or a JWT from the configured "
        "identity provider. Not needed when the server runs with TIM_AUTH=none.",
    }
}


def _with_access_control(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    secured: dict[str, dict[str, Any]] = {}
    for path, item in paths.items():
        secured[path] = dict(item)
        for method, operation in item.items():
            if method == "parameters":
                continue
            if path in PUBLIC_PATHS:
                secured[path][method] = operation | {"security": []}
            else:
                scope = "read" if method == "get" else "write"
                secured[path][method] = operation | {
                    "description": (operation.get("description", "") + f" Needs the {scope} scope.").strip(),
                    "responses": operation["responses"] | _errors(401, 403),
                }
    return secured


def document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tagged Image Manager",
            "version": "1.0.0",
            "description": "Tagged image records with their files in a blob store. Every error is JSON: "
            '{"code": <HTTP status>, "message": "..."}.',
        },
        "servers": [{"url": server_url}],
        "paths": _with_access_control(PATHS),
        "security": [{"bearer": []}],
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


class OpenApiDocument(Endpoint):
    async def get(self, request: Request) -> Response:
        # root_path: where a parent app mounted this one, so the server URL stays right.
        return JSONResponse(document(request.scope.get("root_path", "") + "/v1"))
