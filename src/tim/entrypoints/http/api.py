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
from tim.entrypoints.http import blobs, images, openapi, previews, search, tags
from tim.entrypoints.http.bodies import ImageCreateInput, ImageUpdateInput, Streamed, TagInput, UploadCreateInput
from tim.entrypoints.http.operations import PUBLIC, Answer, Header, Operation
from tim.entrypoints.http.queries import (
    ALL_IMAGES,
    IMAGE_LIST,
    IMAGE_SEARCH,
    PAGING,
    PREVIEW,
    SIGNED_DOWNLOAD,
    SIGNED_UPLOAD,
    Parameter,
)
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
        "GET", "/images", images.list_images, READ, "listImages",
        summary="List all images, newest created first",
        query=ALL_IMAGES,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        "POST", "/images", images.create_image, WRITE, "createImage",
        summary="Create an image record; PUT the file to the returned upload_url",
        body=ImageCreateInput,
        answers={201: Answer("The new record's id and where to PUT the file", IMAGE_CREATED)},
    ),
    Operation(
        "GET", "/images/{image_id}", images.get_image, READ, "getImage",
        summary="Get an image record",
        answers={200: Answer("The image record", IMAGE_RECORD)},
    ),
    Operation(
        "PUT", "/images/{image_id}", images.update_image, WRITE, "updateImage",
        summary="Replace the image's tags (missing tags are created)",
        body=ImageUpdateInput,
        answers={200: Answer("The updated record", IMAGE_RECORD)},
    ),
    Operation(
        "DELETE", "/images/{image_id}", images.delete_image, WRITE, "deleteImage",
        summary="Delete an image record and its file",
        answers={204: DELETED},
    ),
    Operation(
        "POST", "/images/{image_id}/complete", images.complete_upload, WRITE, "completeUpload",
        summary="Confirm that the file was uploaded (idempotent)",
        description="Checks that the stored file exists with exactly the declared size and marks the record "
        "uploaded. 409 when it is missing or has another size (a wrong-size file is removed).",
        answers={200: Answer("The uploaded record", IMAGE_RECORD)},
        errors=(409,),
    ),
    Operation(
        "GET", "/images/{image_id}/preview", previews.get_preview, READ, "getImagePreview",
        summary="A PNG thumbnail of the image's file, fitting in size x size pixels",
        description="DICOM rendered with its modality LUT and VOI LUT or window (MONOCHROME1 inverted, the middle "
        "frame of a multi-frame file); PNG, JPEG, TIFF, GIF, WebP and BMP scaled. Made once per image and size. "
        "409 while the file is pending; 415 for a file tim cannot render (the message names a compressed transfer "
        "syntax that no installed decoder reads).",
        query=PREVIEW,
        answers={200: Answer("The preview", BINARY, "image/png")},
        errors=(409, 415),
    ),
    Operation(
        "POST", "/upload", images.upload_image, WRITE, "uploadImage",
        summary="Upload a small image and create its record in one step",
        description="The whole request body may be at most TIM_MAX_INLINE_UPLOAD_BYTES (by default 4,152,360 "
        "bytes), the decoded file at most TIM_MAX_UPLOAD_BYTES; larger gets 413.",
        body=UploadCreateInput,
        answers={201: Answer("The new, uploaded record", IMAGE_RECORD)},
    ),
    Operation(
        "GET", "/tags", tags.list_tags, READ, "listTags",
        summary="List all tags in alphabetical order (case-folded, ties by exact name)",
        query=PAGING,
        answers={200: Answer("A page of tags", TAG_PAGE)},
    ),
    Operation(
        "POST", "/tags", tags.create_tag, WRITE, "createTag",
        summary="Create a tag",
        description="409 when a tag has the name already (the error carries it as `tag`).",
        body=TagInput,
        answers={201: Answer("The new tag", TAG)},
        errors=(409,),
    ),
    Operation(
        "GET", "/tags/{tag_id}", tags.get_tag, READ, "getTag",
        summary="Get a tag",
        answers={200: Answer("The tag", TAG)},
    ),
    Operation(
        "PUT", "/tags/{tag_id}", tags.rename_tag, WRITE, "renameTag",
        summary="Rename a tag (every image carrying it shows the new name)",
        description="409 when another tag has the name (the error carries it as `tag`).",
        body=TagInput,
        answers={200: Answer("The renamed tag", TAG)},
        errors=(409,),
    ),
    Operation(
        "DELETE", "/tags/{tag_id}", tags.delete_tag, WRITE, "deleteTag",
        summary="Delete a tag; it leaves every image, the images stay",
        answers={204: DELETED},
    ),
    Operation(
        "GET", "/tags/{tag_id}/images", tags.list_tag_images, READ, "listTagImages",
        summary="The tag's images, newest created first",
        query=IMAGE_LIST,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        "GET", "/search/images", search.search_images, READ, "searchImages",
        summary="Images with all the exact tags and, per pattern, a tag matching it; newest first",
        description="At least one of exact_tags and match_tags must name a tag.",
        query=IMAGE_SEARCH,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        "PUT", BLOB, blobs.put_file, PUBLIC, "putFile",
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
        "GET", BLOB, blobs.get_file, PUBLIC, "getFile",
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
        "GET", "/openapi.json", openapi.serve_document, PUBLIC, "getOpenApi",
        summary="This document",
        answers={200: Answer("The OpenAPI document", {"type": "object"})},
    ),
)
