"""``chal discuss list|show|post``: a challenge's questions and answers.

``list <challenge> [--task SLUG] [--search TEXT]`` prints its threads (pinned first, then
the latest active; answered ones marked); ``show <thread id>`` prints a thread's posts as
text (the answer and the organizers' posts marked); ``post <thread id> (TEXT | --file F)``
replies, and ``post --challenge <slug> --title T [--task SLUG] (TEXT | --file F)`` asks a
new question. A refusal is printed as the server words it (the rules not accepted, a
locked thread, a budget with when to try again).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .client import Client, UsageError

BLOCKS = {"p", "div", "pre", "blockquote", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br"}


class _Text(HTMLParser):
    """A post's stored HTML as plain text for a terminal: blocks on their own lines, list
    items with a dash, a link followed by its address."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS - {"li"}:
            self.parts.append("\n")
        elif tag == "a" and self._href:
            self.parts.append(f" <{self._href}>")
            self._href = None

    def handle_data(self, data: str) -> None:
        if data.strip() or "\n" not in data:  # the renderer's newlines between blocks go
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _marks(thread: dict[str, Any]) -> str:
    marks = [m for m in ("pinned", "answered", "locked") if thread.get(m)]
    return f" [{', '.join(marks)}]" if marks else ""


def cmd_list(args: argparse.Namespace, *, make_client: Callable[..., Client], print_json) -> int:
    client = make_client(args)
    params = {k: v for k, v in (("task", args.task), ("q", args.search)) if v}
    threads = client.get_all(f"challenges/{quote(args.challenge, safe='')}/threads/", **params)
    if args.json:
        print_json(threads)
        return 0
    if not threads:
        print("No thread" + (" matches." if params else " yet."))
        return 0
    for t in threads:
        about = f" ({t['task']})" if t.get("task") else ""
        posts = f"{t['posts']} post{'s' if t['posts'] != 1 else ''}"
        print(f"#{t['id']:<6} {t['title']}{about}{_marks(t)} — {t['author']}, {posts}")
    return 0


def cmd_show(args: argparse.Namespace, *, make_client: Callable[..., Client], print_json) -> int:
    client = make_client(args)
    thread = client.get(f"threads/{args.thread}/")
    if args.json:
        print_json(thread)
        return 0
    about = f", task {thread['task']}" if thread.get("task") else ""
    print(f"#{thread['id']} {thread['title']}{_marks(thread)} ({thread['challenge']}{about})")
    for post in thread["posts"]:
        who = post["author"] + (f" · {post['team']}" if post.get("team") else "")
        tags = [t for t, on in (("organizers", post["by_organizers"]),
                                ("the answer", post["is_answer"])) if on]  # fmt: skip
        print(f"\n--- {who}, {post['created'][:16].replace('T', ' ')} UTC"
              + (f" [{', '.join(tags)}]" if tags else ""))  # fmt: skip
        if post["deleted"]:
            print("(deleted by its author)")
        elif post["hidden"]:
            print(f"(hidden by the organizers: {post['hidden_reason']})")
        else:
            print(html_text(post["body_html"]))
    return 0


def _body(file: Path | None, words: list[str]) -> str:
    if file is not None and words:
        raise UsageError("give the text or --file, not both")
    if file is not None:
        return sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    if not words:
        raise UsageError("give the text, or --file FILE (- for standard input)")
    return " ".join(words)


def _post_target(args: argparse.Namespace) -> tuple[int | None, list[str]]:
    """The thread to reply in (None: a new question) and the words of the text."""
    words = list(args.words)
    if args.challenge is not None:
        if not args.title:
            raise UsageError("a new question needs --title")
        return None, words
    if not words:
        raise UsageError("reply to a thread (its id) or ask in a challenge (--challenge SLUG)")
    try:
        return _thread_id(words[0]), words[1:]
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None


def cmd_post(args: argparse.Namespace, *, make_client: Callable[..., Client], print_json) -> int:
    thread, words = _post_target(args)
    body = _body(args.file, words)
    client = make_client(args, login=True)
    if thread is not None:
        answer = client.post(f"threads/{thread}/posts/", {"body": body})
        said = f"Replied in thread #{thread} (post #{answer['id']})."
    else:
        data = {"title": args.title, "body": body, "task": args.task}
        answer = client.post(f"challenges/{quote(args.challenge, safe='')}/threads/", data)
        said = f"Asked: thread #{answer['id']}, {answer['title']}. You follow it."
    if args.json:
        print_json(answer)
    else:
        print(said)
    return 0


def _thread_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a thread id: {text!r}")
    return int(text)


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    make_client: Callable[..., Client],
    print_json: Callable,
) -> None:
    """``chal discuss list``, ``show`` and ``post``."""
    discuss = commands.add_parser("discuss", help="read, ask and answer a challenge's questions")
    actions = discuss.add_subparsers(dest="discuss_command", metavar="ACTION", required=True)

    def bind(handler: Callable[..., int]) -> Callable[[argparse.Namespace], int]:
        return lambda args: handler(args, make_client=make_client, print_json=print_json)

    p = actions.add_parser("list", parents=[common, as_json], help="list a challenge's threads")
    p.add_argument("challenge", help="the challenge's slug")
    p.add_argument("--task", help="only the threads about this task (slug)")
    p.add_argument("--search", metavar="TEXT", help="only threads whose title or text holds it")
    p.set_defaults(handler=bind(cmd_list))

    p = actions.add_parser("show", parents=[common, as_json], help="print a thread's posts")
    p.add_argument("thread", type=_thread_id, help="the thread's id")
    p.set_defaults(handler=bind(cmd_show))

    p = actions.add_parser(
        "post", parents=[common, as_json], help="reply in a thread, or ask a new question"
    )
    p.add_argument(
        "words",
        nargs="*",
        metavar="[THREAD] TEXT",
        help="the thread to reply in (none with --challenge), then the post (Markdown)",
    )
    p.add_argument("--file", type=Path, metavar="FILE", help="read the post from FILE (- stdin)")
    p.add_argument("--challenge", metavar="SLUG", help="ask a new question in this challenge")
    p.add_argument("--title", help="the new question's title")
    p.add_argument("--task", help="the task the new question is about (slug)")
    p.set_defaults(handler=bind(cmd_post))
