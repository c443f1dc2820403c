"""``{% signup_open as open %}``: whether the navigation offers "Sign up" (one home for the rule:
the account adapter's ``is_open_for_signup``, which the sign-up page itself obeys)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signup_open(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return bool(get_adapter(request).is_open_for_signup(request))
