"""Every subcommand's --help: each option says what it does, and placeholders are readable words."""

from __future__ import annotations

import argparse
import re

import pytest

from stygig.cli import build_parser


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(build_parser()))


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        yield action


def test_the_walk_reaches_every_command():
    names = {" ".join(p) for p, _ in COMMANDS}
    # a few from each family, so a family that stops registering is noticed
    for name in ("build", "recommend", "demo", "eval", "export-clip", "serve", "invoke", "package",
                 "aws deploy", "aws teardown", "aws config show", "aws doctor"):
        assert name in names, name
    assert len(names) > 20


@pytest.mark.parametrize("path,parser", COMMANDS, ids=[" ".join(p) or "stygig" for p, _ in COMMANDS])
def test_every_option_has_help_and_a_readable_placeholder(path, parser):
    missing, unreadable = [], []
    for action in _options(parser):
        name = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append(name)
        if action.nargs == 0:
            continue
        metavar = action.metavar
        if metavar is None:
            metavar = action.dest.upper() if action.option_strings else action.dest
        shown = " ".join(metavar) if isinstance(metavar, tuple) else str(metavar)
        # an internal name leaking into --help (STARTUP_HEALTH_CHECK_TIMEOUT, endpoint.instance_type)
        if re.search(r"[A-Za-z]_[A-Za-z]|[a-z]\.[a-z]", shown) and not action.choices:
            unreadable.append(f"{name} {shown}")
    assert not missing, f"stygig {' '.join(path)}: options without help: {', '.join(missing)}"
    assert not unreadable, f"stygig {' '.join(path)}: unreadable placeholders: {', '.join(unreadable)}"


def test_top_k_gives_its_range():
    text = build_parser()._subparsers._group_actions[0].choices["recommend"].format_help()
    assert re.search(r"--top-k N .*\(1\.\.50; default 5\)", " ".join(text.split())), text


def _help(*path: str) -> str:
    parser = dict(COMMANDS)[path]
    return " ".join(parser.format_help().split())


def test_wait_timeout_only_where_something_is_waited_for():
    for path in (("aws", "teardown"), ("aws", "invoke"), ("aws", "doctor"), ("aws", "train"), ("aws", "push-image")):
        assert "--wait-timeout" not in _help(*path), path
    for path in (("aws", "deploy"), ("aws", "redeploy"), ("aws", "pipeline")):
        assert "--wait-timeout SECONDS how long to wait for the endpoint to be InService" in _help(*path), path


def test_the_two_invoke_commands_say_how_they_differ():
    local, aws = _help("invoke"), _help("aws", "invoke")
    assert "`stygig aws invoke`" in local and "async" in local
    assert "`stygig invoke` (with --endpoint-name)" in aws and "--url" in aws


def test_train_says_it_needs_the_pushed_image_and_docker():
    for path in (("aws", "train"), ("aws", "pipeline")):
        text = _help(*path)
        assert "stygig aws push-image" in text and "docker" in text, path
