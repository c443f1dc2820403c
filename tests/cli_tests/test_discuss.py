"""``chal discuss list|show|post`` against a live server: ask, reply, read it back as text,
the refusals as the server words them."""

from __future__ import annotations

import json

from discussion.models import Thread
from discussion.services import answer_mark, thread_lock
from tests.challenges_tests.factories import UserFactory


def test_ask_list_reply_and_show_a_thread(chal, world, login_as, tmp_path):
    login_as("alice")
    slug = world.challenge.slug
    task = world.birds.slug
    asked = chal(
        "discuss", "post", "--challenge", slug, "--title", "Is col 3 in days?", "--task", task,
        "Is it **days** or [hours](https://example.com/h)?",
    )  # fmt: skip
    assert asked.code == 0, asked.err
    thread = Thread.objects.get()
    assert asked.out == f"Asked: thread #{thread.pk}, Is col 3 in days?. You follow it.\n"

    login_as("bob")
    reply_file = tmp_path / "reply.md"
    reply_file.write_text("Days, see the card.\n\n- one\n- two\n", encoding="utf-8")
    replied = chal("discuss", "post", str(thread.pk), "--file", str(reply_file))
    assert replied.code == 0, replied.err
    assert replied.out.startswith(f"Replied in thread #{thread.pk} (post #")
    answer_mark(post=thread.posts.order_by("pk").last(), user=world.alice)

    listed = chal("discuss", "list", slug)
    assert listed.code == 0, listed.err
    assert listed.out.startswith(f"#{thread.pk:<6} Is col 3 in days? ({task}) [answered]")
    assert "alice, 2 posts" in listed.out
    assert (
        chal("discuss", "list", slug, "--search", "nothing like it").out == "No thread matches.\n"
    )
    as_json = json.loads(chal("discuss", "list", slug, "--task", task, "--json").out)
    assert [t["id"] for t in as_json] == [thread.pk]

    shown = chal("discuss", "show", str(thread.pk))
    assert shown.code == 0, shown.err
    text = shown.out
    assert f"#{thread.pk} Is col 3 in days? [answered] ({slug}, task {task})" in text
    assert "Is it days or hours <https://example.com/h>?" in text
    assert "- one\n- two" in text and "[the answer]" in text

    thread_lock(thread=thread, user=UserFactory(is_staff=True), reason="settled")
    refused = chal("discuss", "post", str(thread.pk), "one more")
    assert refused.code == 1 and "locked" in refused.err
    usage = chal("discuss", "post", "not-a-number", "text")
    assert usage.code == 2 and "not a thread id" in usage.err
    assert chal("discuss", "show", "999999").code == 1
