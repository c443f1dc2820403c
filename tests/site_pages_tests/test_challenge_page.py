"""The challenge page's header says where the challenge stands (issue 25: it said "Open"
after the end) and its Markdown description is rendered, sanitized like the rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.challenges_tests.factories import ChallengeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "end", "phase", "says", "never"),
    [
        (-1, 30, "open", "Open ", "Ended"),
        (-30, -1, "ended", "Ended", "Open "),
        (2, 30, "upcoming", "Opens ", "Ended"),
    ],
)
def test_the_header_says_where_the_challenge_stands(client, start, end, phase, says, never):
    now = timezone.now()
    ChallengeFactory(
        slug="phase", start=now + timedelta(days=start), end=now + timedelta(days=end)
    )
    html = client.get("/c/phase/").content.decode()
    header = html.split('id="challenge-phase"', 1)[1].split("</p>", 1)[0]
    assert f'data-phase="{phase}"' in header and says in header and never not in header
    assert ("post-challenge" in header) == (phase == "ended")


def test_the_description_is_rendered_markdown_without_scripts(client):
    ChallengeFactory(
        slug="described",
        description="**Bold** prize and [rules](https://example.org/r)\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
    )
    html = client.get("/c/described/").content.decode()
    section = html.split('id="challenge-description"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Bold</strong>" in section
    assert '<a href="https://example.org/r"' in section
    assert "<script" not in section and "onerror" not in section and "**" not in section
