"""``chal rules show|accept <challenge>``: read a challenge's rules and accept them.

Until a person has accepted the current version of a challenge's rules, joining or creating
a team, downloading data and submitting are refused (``rules_not_accepted``). ``accept``
accepts the version the server has now, or ``--version N`` (refused when the rules changed
since: read them again).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .client import Client, CliError


def _path(challenge: str, *rest: str) -> str:
    return "/".join(["challenges", quote(challenge, safe=""), "rules", *rest]) + "/"


def cmd_rules_show(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    client = make_client(args)
    rules = client.get(_path(args.challenge))
    if args.json:
        print_json(rules)
        return 0
    if not (rules.get("text") or "").strip():
        print(f"Challenge {args.challenge} has no rules to accept.")
        return 0
    print(f"Rules of {args.challenge}, version {rules['version']}:\n")
    print(rules["text"].rstrip())
    print()
    if rules.get("accepted"):
        print(f"You accepted version {rules['version']}.")
    else:
        print(f"Not accepted yet: chal rules accept {args.challenge}")
    return 0


def cmd_rules_accept(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    client = make_client(args, login=True)
    version = args.version
    if version is None:
        current = client.get(_path(args.challenge))
        if not (current.get("text") or "").strip():
            raise CliError(f"challenge {args.challenge} has no rules to accept")
        version = current["version"]
    rules = client.post(_path(args.challenge, "accept"), {"version": version})
    if args.json:
        print_json(rules)
    else:
        print(f"Accepted the rules of {args.challenge} (version {rules['version']}).")
    return 0


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("versions start at 1")
    return value


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    make_client: Callable[..., Client],
    print_json: Callable,
) -> None:
    """``chal rules show`` and ``chal rules accept``."""
    rules = commands.add_parser("rules", help="read or accept a challenge's rules")
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "show", parents=[common, as_json], help="print the rules and whether you accepted them"
    )
    p.add_argument("challenge", help="the challenge's slug")
    p.set_defaults(
        handler=lambda args: cmd_rules_show(args, make_client=make_client, print_json=print_json)
    )
    p = actions.add_parser(
        "accept", parents=[common, as_json], help="accept the current version of the rules"
    )
    p.add_argument("challenge", help="the challenge's slug")
    p.add_argument(
        "--version",
        type=_version,
        metavar="N",
        help="the version you read (default: the current one); refused if the rules changed",
    )
    p.set_defaults(
        handler=lambda args: cmd_rules_accept(args, make_client=make_client, print_json=print_json)
    )
