"""A separate process writing to a catalogue, driven line by line on stdin:
for tests of what several processes sharing one database see.

    python writer_process.py DATABASE_URL

Commands (one JSON array a line), each answered with one JSON line:
["add", [tag names]] -> image id; ["rename", tag name, new name];
["delete", image id]; ["hang", [tag names]]: start adding an image and stop
just before its transaction commits (answers "hanging"), to be killed.
"""

import json
import sys
import time

import tim
from tim.adapters.postgres import repository as postgres_repository
from tim.adapters.sqlite import repository as sqlite_repository


def hang_before_commit(module):
    original = module._record_changes if hasattr(module, "_record_changes") else module._record

    def record_then_hang(connection, *changes):
        original(connection, *changes)
        print(json.dumps("hanging"), flush=True)
        time.sleep(600)

    setattr(module, original.__name__, record_then_hang)


def main(url):
    images = tim.open(url)
    for line in sys.stdin:
        command, *args = json.loads(line)
        if command == "add":
            answer = images.upload_image(created_by="writer", filename="w.png", data=b"w", tags=args[0]).id
        elif command == "rename":
            tag = next(t for t in images.list_tags().results if t.name == args[0])
            answer = images.rename_tag(tag.id, name=args[1]).name
        elif command == "delete":
            answer = images.delete_image(args[0])
        elif command == "hang":
            hang_before_commit(postgres_repository if url.startswith("postgresql") else sqlite_repository)
            images.upload_image(created_by="writer", filename="w.png", data=b"w", tags=args[0])
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
