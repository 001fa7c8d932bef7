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
from tim.entrypoints.http import blobs, export, history, images, openapi, previews, search, tags
from tim.entrypoints.http.bodies import (
    BulkTagEditInput,
    ImageCreateInput,
    ImageUpdateInput,
    MergeInput,
    Streamed,
    TagEditInput,
    TagInput,
    UploadCreateInput,
)
from tim.entrypoints.http.operations import PUBLIC, Answer, Header, Operation
from tim.entrypoints.http.queries import (
    ALL_IMAGES,
    HISTORY,
    IMAGE_EXPORT,
    IMAGE_LIST,
    IMAGE_SEARCH,
    PREVIEW,
    SIGNED_DOWNLOAD,
    SIGNED_UPLOAD,
    TAG_LIST,
    Parameter,
)
from tim.entrypoints.http.responses import (
    COLLISIONS,
    HISTORY_PAGE,
    IMAGE_CREATED,
    IMAGE_HISTORY,
    IMAGE_PAGE,
    IMAGE_RECORD,
    TAG_PAGE,
    TAG_RECORD,
    UPDATED,
)
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

# Starlette tries the paths in this order: a literal path (/images/tags,
# /tags/collisions) comes before the template it would otherwise fill.
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
        "POST", "/images/tags", images.edit_tags_of_images, WRITE, "editTagsOfImages",
        summary="Add and remove tags on up to 1,000 images at once: all or nothing",
        description="An unknown id gets 404 with the unknown ids in `details`, and nothing changes. A name "
        "both added and removed gets 400.",
        body=BulkTagEditInput,
        answers={200: Answer("How many images' tags changed", UPDATED)},
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
        "PATCH", "/images/{image_id}/tags", images.edit_image_tags, WRITE, "editImageTags",
        summary="Add and remove some of the image's tags, leaving the others (no lost updates)",
        description="Either list may be empty or absent, not both; a name in both gets 400. Missing tags are "
        "created; removing a tag the image lacks is not an error.",
        body=TagEditInput,
        answers={200: Answer("The updated record", IMAGE_RECORD)},
    ),
    Operation(
        "GET", "/images/{image_id}/history", history.image_history, READ, "getImageHistory",
        summary="Every change to what the image carries, newest first (kept after it is deleted)",
        answers={200: Answer("The image's events", IMAGE_HISTORY)},
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
        summary="List all tags in alphabetical order (case-folded, ties by exact name), or by prefix",
        description="With `prefix`: the tags whose case-folded name starts with it, most used first (ties in "
        "the usual order), for autocomplete.",
        query=TAG_LIST,
        answers={200: Answer("A page of tag records", TAG_PAGE)},
    ),
    Operation(
        "POST", "/tags", tags.create_tag, WRITE, "createTag",
        summary="Create a tag",
        description="409 when a tag has the name already, or it is an alias (the error carries the tag as "
        "`tag`).",
        body=TagInput,
        answers={201: Answer("The new tag", TAG_RECORD)},
        errors=(409,),
    ),
    Operation(
        "GET", "/tags/collisions", tags.tag_collisions, READ, "getTagCollisions",
        summary="Groups of two or more tags whose names are equal after case folding and NFC",
        answers={200: Answer("The groups, by folded name", COLLISIONS)},
    ),
    Operation(
        "GET", "/tags/{tag_id}", tags.get_tag, READ, "getTag",
        summary="Get a tag",
        answers={200: Answer("The tag", TAG_RECORD)},
    ),
    Operation(
        "PUT", "/tags/{tag_id}", tags.rename_tag, WRITE, "renameTag",
        summary="Rename a tag (every image carrying it shows the new name)",
        description="409 when another tag has the name, or it is another tag's alias (the error carries that "
        "tag as `tag`).",
        body=TagInput,
        answers={200: Answer("The renamed tag", TAG_RECORD)},
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
        "POST", "/tags/{tag_id}/merge", tags.merge_tag, WRITE, "mergeTag",
        summary="Merge the tag into another: its images get that tag, its name becomes that tag's alias",
        description="The tag is deleted. Merging a tag into itself gets 400, into an unknown tag 404.",
        body=MergeInput,
        answers={200: Answer("The surviving tag", TAG_RECORD)},
    ),
    Operation(
        "DELETE", "/tags/{tag_id}/aliases/{name:path}", tags.remove_alias, WRITE, "removeTagAlias",
        summary="Remove an alias of the tag: the name is free again",
        answers={204: DELETED},
    ),
    Operation(
        "GET", "/search/images", search.search_images, READ, "searchImages",
        summary="Images matching every tag condition given; newest first",
        description="At least one tag condition must be given: exact_tags, match_tags, any_tags, exclude_tags, "
        "exclude_match_tags or untagged=true.",
        query=IMAGE_SEARCH,
        answers={200: IMAGES_NEWEST_FIRST},
    ),
    Operation(
        "GET", "/export/images", export.export_images, READ, "exportImages",
        summary="Every matching record as NDJSON, one a line, newest first (no paging)",
        description="Takes the filters and tag conditions of searchImages, all optional (none: every image). "
        "Each record has a fresh download url; the stream is read and sent a batch at a time.",
        query=IMAGE_EXPORT,
        answers={200: Answer("One ImageRecord a line", IMAGE_RECORD, export.NDJSON)},
    ),
    Operation(
        "GET", "/history", history.list_history, READ, "listHistory",
        summary="Events of every image, newest first, cursor-paged like image lists",
        query=HISTORY,
        answers={200: Answer("A page of events", HISTORY_PAGE)},
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
