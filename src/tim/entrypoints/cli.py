"""The `tim` command.

    tim serve [--host 127.0.0.1] [--port 8000] [--data-dir ./tim-data] [--workers N]
    tim reconcile [--data-dir DIR] [--expire-pending-after SECONDS] [--remove-orphans [--orphan-grace SECONDS]]
    tim reindex [--data-dir DIR]
    tim token create NAME --scope read|write|admin | tim token list | tim token revoke NAME
    tim import PATH... [--tag NAME]... [--tags-from-folders] [--manifest FILE] [--dicom-tags NAMES] [--jobs N] [--url URL]
    tim export --to DIR [--exact-tags T] [--any-tags T] [--exclude-tags T] [--match-tags P] [...] [--url URL]

Each subcommand is a function taking the parsed arguments and returning an
exit status; `add_serve` shows how one is declared. Configuration problems
print one line and exit with status 2; other errors tim reports (a store
that cannot be reached) print one line and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import NoReturn

from attrs import asdict

from tim.domain.model.errors import TimError
from tim.domain.model.settings import Settings
from tim.domain.use_cases.tokens import TokenManager
from tim.entrypoints import configuration
from tim.entrypoints.bootstrap import MEMORY, ConfigError, build_manager, build_token_manager
from tim.entrypoints.export import add_export
from tim.entrypoints.ingest import add_import

CONFIG_ERROR_STATUS = 2
FAILURE_STATUS = 1


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other configuration error."""

    def error(self, message: str) -> NoReturn:
        self.exit(CONFIG_ERROR_STATUS, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="tim", description="tim, the Tagged Image Manager")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    add_serve(commands)
    add_reconcile(commands)
    add_reindex(commands)
    add_token(commands)
    add_import(commands)
    add_export(commands)
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except ConfigError as error:
        print(f"tim: {error}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    except TimError as error:  # e.g. a store that went away mid-command: one line, not a traceback
        print(f"tim: {error.message}", file=sys.stderr)
        return FAILURE_STATUS


def add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP service",
        description="Run the v1 HTTP API. Flags win over the TIM_* environment variables (see the README).",
    )
    serve.add_argument("--host", default=configuration.DEFAULT_HOST, help="address to listen on (default %(default)s)")
    serve.add_argument(
        "--port", default=str(configuration.DEFAULT_PORT), help="port to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--data-dir",
        help=f"where the SQLite file, the files and the signing secret live "
        f"(default ${configuration.DATA_DIR} or {configuration.DEFAULT_DATA_DIR}); created if missing",
    )
    serve.add_argument("--workers", default="1", help="worker processes (default %(default)s)")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host with TIM_AUTH=none, where every caller is an admin",
    )
    serve.set_defaults(run=serve_command)


def serve_command(arguments: argparse.Namespace) -> int:
    from tim.entrypoints import serving  # here, not at the top: other subcommands need no web server

    settings = configuration.from_environment(
        os.environ,
        host=arguments.host,
        port=arguments.port,
        data_dir=arguments.data_dir,
        workers=arguments.workers,
    )
    configuration.refuse_open_network(settings, insecure=arguments.insecure)
    configuration.prepare(settings)
    # Worker processes build the app from the environment: pass on the
    # settings as resolved here, flags included.
    os.environ.update(settings.environment())
    logging.basicConfig(format="%(levelname)s:     %(name)s: %(message)s")
    logging.getLogger("tim").setLevel(logging.INFO)
    serving.serve(settings.host, settings.port, settings.workers)
    return 0


def add_reconcile(commands: argparse._SubParsersAction) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="settle what interrupted uploads and deletes left behind",
        description="Confirm or reject every pending upload and remove what crashed uploads left half-written; "
        "optionally expire old pending records and remove objects that no record refers to. Safe to run at any "
        "time, from cron or a scheduler, next to running servers. Uses the same TIM_* settings as `tim serve`.",
    )
    reconcile.add_argument("--data-dir", help="as for `tim serve`")
    reconcile.add_argument(
        "--expire-pending-after",
        metavar="SECONDS",
        help="also delete records whose file has not arrived this many seconds after creation",
    )
    reconcile.add_argument(
        "--remove-orphans",
        action="store_true",
        help="also delete stored objects that no record refers to, and replayed uploads, once older than "
        "the grace period",
    )
    reconcile.add_argument(
        "--orphan-grace",
        metavar="SECONDS",
        help=f"the grace period of --remove-orphans and of half-written files (default "
        f"{Settings().orphan_grace_seconds}): a one-shot upload stores its file a moment before its record, "
        "so younger objects are left alone",
    )
    reconcile.set_defaults(run=reconcile_command)


def reconcile_command(arguments: argparse.Namespace) -> int:
    settings = configuration.from_environment(os.environ, data_dir=arguments.data_dir)
    configuration.ensure_data_dir(settings)
    expire_after = arguments.expire_pending_after
    if expire_after is not None:
        expire_after = configuration.whole_number("--expire-pending-after", expire_after, minimum=0)
    grace = arguments.orphan_grace
    if grace is not None:
        grace = configuration.whole_number("--orphan-grace", grace, minimum=0)
    manager = build_manager(settings.core)
    try:
        report = manager.reconcile(
            remove_orphans=arguments.remove_orphans, expire_pending_after=expire_after, orphan_grace=grace
        )
    finally:
        manager.close()
    print(json.dumps(asdict(report)))
    return 0


def add_reindex(commands: argparse._SubParsersAction) -> None:
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the search index from the tables, in every process",
        description="Make every process serving this database (servers, workers, embedders) rebuild its search "
        "index from the tables before its next search, and build one here to check and time it. Needed only "
        "after rows were changed without tim while it ran (a restore, rows loaded with COPY); a process that "
        "starts builds its index from the tables anyway. Uses the same TIM_* settings as `tim serve`.",
    )
    reindex.add_argument("--data-dir", help="as for `tim serve`")
    reindex.set_defaults(run=reindex_command)


def reindex_command(arguments: argparse.Namespace) -> int:
    settings = configuration.from_environment(os.environ, data_dir=arguments.data_dir)
    if settings.core.database_url == MEMORY:
        raise ConfigError("a memory: database lives inside one process: there is nothing to reindex")
    configuration.ensure_data_dir(settings)
    manager = build_manager(settings.core)
    try:
        began = time.perf_counter()
        manager.reindex()
        seconds = time.perf_counter() - began
        report = {"images": manager.list_images(limit=1).total_results, "tags": manager.list_tags(limit=1).total_results}
    finally:
        manager.close()
    print(json.dumps(report | {"seconds": round(seconds, 2)}))
    return 0


def add_token(commands: argparse._SubParsersAction) -> None:
    token = commands.add_parser(
        "token",
        help="manage the API tokens of TIM_AUTH=tokens",
        description="API tokens live in the database (TIM_DATABASE_URL, or the SQLite file in the data "
        "directory), stored only as SHA-256 hashes. A token's name is the principal it authenticates: "
        "what created_by records.",
    )
    actions = token.add_subparsers(title="actions", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print its secret (shown only this once)")
    create.add_argument("name", help="who the token is for (1..255 printable characters)")
    create.add_argument("--scope", required=True, choices=["read", "write", "admin"], help="what it may do")
    create.set_defaults(run=token_create_command)
    listing = actions.add_parser("list", help="show every token's name, scope and creation time (never secrets)")
    listing.set_defaults(run=token_list_command)
    revoke = actions.add_parser("revoke", help="make a token stop working at once")
    revoke.add_argument("name")
    revoke.set_defaults(run=token_revoke_command)
    for parser in (create, listing, revoke):
        parser.add_argument("--data-dir", help="as for `tim serve`")


def token_create_command(arguments: argparse.Namespace) -> int:
    with _token_manager(arguments) as tokens:
        issued = tokens.create_token(arguments.name, scope=arguments.scope)
    # The secret alone on stdout, so that TOKEN=$(tim token create ...) works.
    print(issued.secret)
    note = f"created token {issued.token.name!r} ({issued.token.scope.label}); keep the secret now, it is not shown again"
    print(f"tim: {note}", file=sys.stderr)
    return 0


def token_list_command(arguments: argparse.Namespace) -> int:
    with _token_manager(arguments) as tokens:
        for token in tokens.list_tokens():
            created = datetime.fromtimestamp(token.created_timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{token.name}\t{token.scope.label}\t{created}")
    return 0


def token_revoke_command(arguments: argparse.Namespace) -> int:
    with _token_manager(arguments) as tokens:
        tokens.revoke_token(arguments.name)
    print(f"tim: revoked token {arguments.name!r}", file=sys.stderr)
    return 0


@contextmanager
def _token_manager(arguments: argparse.Namespace) -> Iterator[TokenManager]:
    settings = configuration.from_environment(os.environ, data_dir=arguments.data_dir)
    if settings.core.database_url == MEMORY:
        raise ConfigError("tokens need a database that outlives this command: set TIM_DATABASE_URL or --data-dir")
    configuration.ensure_data_dir(settings)
    try:
        tokens = build_token_manager(settings.core.database_url)
    except TimError as error:
        raise ConfigError(f"cannot open the database: {error.message}") from None
    try:
        yield tokens
    finally:
        tokens.close()


if __name__ == "__main__":
    sys.exit(main())
