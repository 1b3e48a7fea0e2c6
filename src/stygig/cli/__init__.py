"""The ``stygig`` command line.

Each area of the product registers its own subcommands (``register(subparsers)``) from a small
module that imports nothing heavy at import time; handlers import what they need when they run,
so ``stygig --help`` is instant and the serving path never imports torch.

User errors (:class:`~stygig.errors.StygigError`) print one line ``stygig: error: ...`` and exit
with status 2; an interrupted command exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from stygig import __version__
from stygig.errors import StygigError

#: modules that add subcommands, in the order they appear in --help, and the commands each adds:
#: a command line naming one of them imports only its module (``stygig recommend`` does not import
#: the serving, batch or AWS modules: issue 17.5); ``--help`` and anything else imports them all
COMMAND_MODULES = {
    "stygig.cli.core": ("sample-catalog", "build", "merge", "update", "recommend"),
    "stygig.cli.batch": ("batch",),
    "stygig.cli.demo": ("demo",),
    "stygig.cli.evaluate": ("eval", "learn", "import-polyvore"),
    "stygig.cli.export": ("export-clip",),
    "stygig.cli.serve": ("serve", "invoke", "package"),
    "stygig.cli.aws": ("aws",),
}


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser. Where the subcommand names a repeatable positional as its
    :data:`~stygig.schema.TRAILING_POSITIONAL` default (``recommend``'s photos), positional words
    after options belong to it too: ``stygig recommend ART --item ID PHOTO``, which argparse alone
    refuses (its ``nargs="*"`` positional is consumed, empty, before the first option)."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        from stygig.schema import TRAILING_POSITIONAL

        namespace, extras = super().parse_known_args(args, namespace)
        dest = getattr(namespace, TRAILING_POSITIONAL, None)
        if dest and extras:
            words = [a for a in extras if not a.startswith("-")]
            setattr(namespace, dest, [*(getattr(namespace, dest, None) or []), *words])
            extras = [a for a in extras if a.startswith("-")]
        return namespace, extras


def command_of(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word
        if word in ("-h", "--help", "--version"):
            return None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only the module adding that command registers (all when
    ``command`` is None or unknown, so that --help and mistakes list every command)."""
    parser = argparse.ArgumentParser(
        prog="stygig",
        description="StyGig: complete an outfit from one garment, over your own catalog.",
    )
    parser.add_argument("--version", action="version", version=f"stygig {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True
    owners = [m for m, commands in COMMAND_MODULES.items() if command in commands]
    for name in owners or COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


#: commands that, run as a program, end without the interpreter's teardown once their output is
#: flushed: freeing the ONNX sessions, FAISS and every module took 0.12 s of a 0.8 s `recommend`
FAST_EXIT = frozenset({"recommend"})


def main(argv: list[str] | None = None) -> int:
    """Run a command line (``argv``; None: this program's own, ``sys.argv``) and return its status."""
    parser = build_parser(command_of(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    rc = _run(args)
    if argv is None and args.command in FAST_EXIT:
        # everything is written (files by then, atomically); nothing is left for atexit to do
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
        sys.stderr.flush()
        logging.shutdown()
        os._exit(rc)
    return rc


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = args.func(args)
    except StygigError as e:
        print(f"stygig: error: {e.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`stygig ... | head`): not an error; stdout goes nowhere from here on,
        # so the interpreter's own flush at exit does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        # a path the user named that cannot be read or written: one line naming it (-v: traceback)
        if args.verbose or not e.filename:
            raise
        target = f"{e.filename} -> {e.filename2}" if e.filename2 else e.filename
        print(f"stygig: error: {target}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stygig: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)

