"""``python -m linkpaper COMMAND``: the command-line entry point.

Commands live in ``linkpaper/commands/<name>.py`` (each with its ``HELP`` line, its arguments
and its ``run``); they import their dependencies only when they run. Errors a user can
fix (``linkpaper.errors.UserError``) are printed as one message and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("download", "evaluate", "synth", "train", "test", "grid", "extract")
"""The subcommands, in ``--help`` order; each one's help line is its module's ``HELP``."""


def _command_module(name: str):
    return importlib.import_module(f"linkpaper.commands.{name}")


def build_parser(names=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m linkpaper",
        description="linkpaper: LINK / VALOR++ for audio-visual video parsing (AVVP).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        help_text = _command_module(name).HELP  # the modules import nothing heavy at the top
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if names is None or name in names:
            _command_module(name).add_arguments(command_parser)
    return parser


def main(argv=None) -> int:
    from linkpaper.errors import UserError

    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(names={wanted} if wanted else set())
    args = parser.parse_args(argv)
    try:
        return int(_command_module(args.command).run(args) or 0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
