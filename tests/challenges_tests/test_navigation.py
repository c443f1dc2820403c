"""The site's navigation: "Sign up" for anonymous visitors while local sign-up is open, and
"My submissions" for anyone logged in; each link leads to a page that answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.challenges_tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NAV = re.compile(r"<nav>(.*?)</nav>", re.S)


def nav_links(client: Client, path: str = "/") -> dict[str, str]:
    """``{text: href}`` of the navigation's links on ``path``."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    (nav,) = NAV.findall(response.content.decode())
    return {
        text.strip(): href
        for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', nav)
    }


@pytest.mark.parametrize("path", ["/", "/accounts/login/"])
def test_anonymous_visitors_are_offered_sign_up_while_it_is_open(settings, path) -> None:
    settings.LOCAL_SIGNUP_ENABLED = True
    client = Client()
    links = nav_links(client, path)
    assert links["Sign up"] == "/accounts/signup/"
    assert "My submissions" not in links
    assert client.get(links["Sign up"]).status_code == 200


def test_no_sign_up_link_when_sign_up_is_closed(settings) -> None:
    settings.LOCAL_SIGNUP_ENABLED = False
    links = nav_links(Client())
    assert "Sign up" not in links
    assert "Log in" in links


def test_logged_in_users_get_my_submissions_and_no_sign_up(settings) -> None:
    settings.LOCAL_SIGNUP_ENABLED = True
    client = Client()
    client.force_login(UserFactory(username="nav-user"))
    links = nav_links(client)
    assert links["My submissions"] == "/submissions/"
    assert "Sign up" not in links and "Log in" not in links
    page = client.get(links["My submissions"])
    assert page.status_code == 200
