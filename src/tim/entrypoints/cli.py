"""The `tim` command.

    tim serve [--host 127.0.0.1] [--port 8000] [--data-dir ./tim-data] [--workers N]
    tim reconcile [--data-dir DIR] [--expire-pending-after SECONDS] [--remove-orphans]

Each subcommand is a function taking the parsed arguments and returning an
exit status; `add_serve` shows how one is declared. Configuration problems
print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from tim.entrypoints import configuration
from attrs import asdict

from tim.entrypoints.bootstrap import ConfigError, build_manager

CONFIG_ERROR_STATUS = 2
APP_FACTORY = "tim.entrypoints.http.app:app_from_environment"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other configuration error."""

    def error(self, message: str) -> NoReturn:
        self.exit(CONFIG_ERROR_STATUS, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="tim", description="tim, the Tagged Image Manager")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    add_serve(commands)
    add_reconcile(commands)
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except ConfigError as error:
        print(f"tim: {error}", file=sys.stderr)
        return CONFIG_ERROR_STATUS


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
    serve.set_defaults(run=serve_command)


def serve_command(arguments: argparse.Namespace) -> int:
    import uvicorn  # here, not at the top: other subcommands need no web server

    settings = configuration.from_environment(
        os.environ,
        host=arguments.host,
        port=arguments.port,
        data_dir=arguments.data_dir,
        workers=arguments.workers,
    )
    configuration.prepare(settings)
    # Worker processes build the app from the environment: pass on the
    # settings as resolved here, flags included.
    os.environ.update(settings.environment())
    logging.basicConfig(format="%(levelname)s:     %(name)s: %(message)s")
    logging.getLogger("tim").setLevel(logging.INFO)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        lifespan="on",
        # uvicorn's access log would print signed URLs, signatures and all.
        access_log=False,
    )
    return 0


def add_reconcile(commands: argparse._SubParsersAction) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="settle what interrupted uploads and deletes left behind",
        description="Confirm or reject every pending upload; optionally expire old pending records and remove "
        "objects that no record refers to. Safe to run at any time, from cron or a scheduler, "
        "next to running servers. Uses the same TIM_* settings as `tim serve`.",
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
        help="also delete stored objects that no record refers to (older than an hour) and replayed uploads",
    )
    reconcile.set_defaults(run=reconcile_command)


def reconcile_command(arguments: argparse.Namespace) -> int:
    settings = configuration.from_environment(os.environ, data_dir=arguments.data_dir)
    configuration.prepare(settings)
    expire_after = arguments.expire_pending_after
    if expire_after is not None:
        expire_after = configuration.whole_number("--expire-pending-after", expire_after, minimum=0)
    manager = build_manager(settings.core)
    try:
        report = manager.reconcile(remove_orphans=arguments.remove_orphans, expire_pending_after=expire_after)
    finally:
        manager.close()
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
