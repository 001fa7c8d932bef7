"""The v1 API: every operation, declared once. The app's routes, the access
checks and the OpenAPI document are all made from this table (see
operations.py and openapi.py).

To add an operation, add an Operation here with its endpoint function;
its query parameters are declared in queries.py, its body class in
bodies.py, the schema of what it answers beside the function that writes
it (responses.py).
"""

from __future__ import annotations

from tim.domain.model.access import Scope
from tim.entrypoints.bootstrap import BLOB_ROUTE
from tim.entrypoints.http import blobs, images, openapi, search, tags
from tim.entrypoints.http.bodies import ImageCreateInput, ImageUpdateInput, Streamed, TagInput, UploadCreateInput
from tim.entrypoints.http.operations import PUBLIC, Answer, Header, Operation
from tim.entrypoints.http.queries import IMAGE_LIST, IMAGE_SEARCH, PAGING, SIGNED_DOWNLOAD, SIGNED_UPLOAD, Parameter
from tim.entrypoints.http.responses import IMAGE_CREATED, IMAGE_PAGE, IMAGE_RECORD, TAG, TAG_PAGE
from tim.entrypoints.http.schemas import BINARY

V1 = "/v1"
READ, WRITE = Scope.READ, Scope.WRITE

IMAGES_NEWEST_FIRST = Answer("A page of image records, newest first (ties: larger id first)", IMAGE_PAGE)
DELETED = Answer("Deleted")
FILE = "*/*"  # a file is served as the media type its filename suggests
FILE_HEADERS = {
    "Content-Length": Header("The bytes sent"),
    "Content-Disposition": Header("attachment, with the image's filename"),
    "ETag": Header("The stored file's validator (for If-Range)"),
    "Accept-Ranges": Header("bytes"),
    "Cache-Control": Header("private, no-store"),
}
BLOB = BLOB_ROUTE.removeprefix(V1) + "/{key}"

OPERATIONS = (
    Operation(
        method="GET",
        path="/images",
        endpoint=images.list_images,
        scope=READ,
        operation_id="listImages",
        summary="List all images, newest created first",
        query=IMAGE_LIST,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        method="POST",
        path="/images",
        endpoint=images.create_image,
        scope=WRITE,
        operation_id="createImage",
        summary="Create an image record; PUT the file to the returned upload_url",
        body=ImageCreateInput,
        answers={201: Answer("The new record's id and where to PUT the file", IMAGE_CREATED)},
    ),
    Operation(
        method="GET",
        path="/images/{image_id}",
        endpoint=images.get_image,
        scope=READ,
        operation_id="getImage",
        summary="Get an image record",
        answers={200: Answer("The image record", IMAGE_RECORD)},
    ),
    Operation(
        method="PUT",
        path="/images/{image_id}",
        endpoint=images.update_image,
        scope=WRITE,
        operation_id="updateImage",
        summary="Replace the image's tags (missing tags are created)",
        body=ImageUpdateInput,
        answers={200: Answer("The updated record", IMAGE_RECORD)},
    ),
    Operation(
        method="DELETE",
        path="/images/{image_id}",
        endpoint=images.delete_image,
        scope=WRITE,
        operation_id="deleteImage",
        summary="Delete an image record and its file",
        answers={204: DELETED},
    ),
    Operation(
        method="POST",
        path="/images/{image_id}/complete",
        endpoint=images.complete_upload,
        scope=WRITE,
        operation_id="completeUpload",
        summary="Confirm that the file was uploaded (idempotent)",
        description="Checks that the stored file exists with exactly the declared size and marks the record "
        "uploaded. 409 when it is missing or has another size (a wrong-size file is removed).",
        answers={200: Answer("The uploaded record", IMAGE_RECORD)},
        errors=(409,),
    ),
    Operation(
        method="POST",
        path="/upload",
        endpoint=images.upload_image,
        scope=WRITE,
        operation_id="uploadImage",
        summary="Upload a small image and create its record in one step",
        description="The whole request body may be at most TIM_MAX_INLINE_UPLOAD_BYTES (by default 4,152,360 "
        "bytes), the decoded file at most TIM_MAX_UPLOAD_BYTES; larger gets 413.",
        body=UploadCreateInput,
        answers={201: Answer("The new, uploaded record", IMAGE_RECORD)},
    ),
    Operation(
        method="GET",
        path="/tags",
        endpoint=tags.list_tags,
        scope=READ,
        operation_id="listTags",
        summary="List all tags in alphabetical order (case-folded, ties by exact name)",
        query=PAGING,
        answers={200: Answer("A page of tags", TAG_PAGE)},
    ),
    Operation(
        method="POST",
        path="/tags",
        endpoint=tags.create_tag,
        scope=WRITE,
        operation_id="createTag",
        summary="Create a tag",
        description="409 when a tag has the name already (the error carries it as `tag`).",
        body=TagInput,
        answers={201: Answer("The new tag", TAG)},
        errors=(409,),
    ),
    Operation(
        method="GET",
        path="/tags/{tag_id}",
        endpoint=tags.get_tag,
        scope=READ,
        operation_id="getTag",
        summary="Get a tag",
        answers={200: Answer("The tag", TAG)},
    ),
    Operation(
        method="PUT",
        path="/tags/{tag_id}",
        endpoint=tags.rename_tag,
        scope=WRITE,
        operation_id="renameTag",
        summary="Rename a tag (every image carrying it shows the new name)",
        description="409 when another tag has the name (the error carries it as `tag`).",
        body=TagInput,
        answers={200: Answer("The renamed tag", TAG)},
        errors=(409,),
    ),
    Operation(
        method="DELETE",
        path="/tags/{tag_id}",
        endpoint=tags.delete_tag,
        scope=WRITE,
        operation_id="deleteTag",
        summary="Delete a tag; it leaves every image, the images stay",
        answers={204: DELETED},
    ),
    Operation(
        method="GET",
        path="/tags/{tag_id}/images",
        endpoint=tags.list_tag_images,
        scope=READ,
        operation_id="listTagImages",
        summary="The tag's images, newest created first",
        query=IMAGE_LIST,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        method="GET",
        path="/search/images",
        endpoint=search.search_images,
        scope=READ,
        operation_id="searchImages",
        summary="Images with all the exact tags and, per pattern, a tag matching it; newest first",
        description="At least one of exact_tags and match_tags must name a tag.",
        query=IMAGE_SEARCH,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        method="PUT",
        path=BLOB,
        endpoint=blobs.put_file,
        scope=PUBLIC,
        operation_id="putFile",
        summary="Upload an image's file to its signed upload_url (local stores)",
        description="The signature is the credential. Refused with 400 (and nothing stored) when the body has "
        "another length than the image's size; 409 once the file is stored; 403 when the URL is tampered "
        "with, expired or meant for another method or object.",
        query=SIGNED_UPLOAD,
        body=Streamed("application/octet-stream", "The file, exactly `size` bytes"),
        answers={200: Answer("Stored: the record, now uploaded", IMAGE_RECORD)},
        errors=(403, 404, 409),
    ),
    Operation(
        method="GET",
        path=BLOB,
        endpoint=blobs.get_file,
        scope=PUBLIC,
        operation_id="getFile",
        summary="Download an image's file from its signed url (local stores)",
        description="The signature is the credential. Honours a single byte range (`Range: bytes=a-b`, "
        "`bytes=a-`, `bytes=-n`) with 206; several ranges, or another unit, get the whole file (200).",
        query=SIGNED_DOWNLOAD,
        headers=(
            Parameter("Range", {"type": "string"}, "One byte range, e.g. bytes=0-1023", where="header"),
            Parameter(
                "If-Range",
                {"type": "string"},
                "The file's ETag: send the range only if the file is still that one",
                where="header",
            ),
        ),
        answers={
            200: Answer("The file", BINARY, FILE, FILE_HEADERS),
            206: Answer(
                "The range asked for", BINARY, FILE, FILE_HEADERS | {"Content-Range": Header("bytes FIRST-LAST/SIZE")}
            ),
        },
        errors=(403, 404, 416),
    ),
    Operation(
        method="GET",
        path="/openapi.json",
        endpoint=openapi.serve_document,
        scope=PUBLIC,
        operation_id="getOpenApi",
        summary="This document",
        answers={200: Answer("The OpenAPI document", {"type": "object"})},
    ),
)
