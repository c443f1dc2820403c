"""The reference upload's ``primary`` flag is a boolean, strictly: the upload is a form (a
multipart file), so the field must be the word ``true`` or ``false``; anything else
(``0``, ``1``, ``yes``, ``on``, ``True``, an empty value, the field twice) is a 400 that
names the field and stores nothing. A JSON body cannot carry the file: 415, nothing stored."""

from __future__ import annotations

import pytest

from challenges.models import AuditEvent
from scoring.models import Reference
from scoring.reference_selectors import primary_reference
from tests.scoring_tests.factories import api_client_for, upload
from tests.scoring_tests.references_helpers import organizer, wrong_on

pytestmark = pytest.mark.django_db


def refs_url(task) -> str:
    return f"/api/v1/tasks/{task.slug}/references/"


def stored_state(task) -> tuple[list[str], str, int]:
    names = sorted(Reference.objects.filter(task=task).values_list("name", flat=True))
    audits = AuditEvent.objects.filter(action="reference.upload").count()
    return names, primary_reference(task=task).name, audits


@pytest.mark.parametrize(
    "value",
    ["0", "1", "yes", "on", "True", "FALSE", "", "null", ["true", "false"], ["false", "true"]],
)
def test_a_form_ish_primary_is_refused_and_changes_nothing(case, value):
    task, P = case["task"], case["P"]
    org = api_client_for(organizer())
    before = stored_state(task)
    response = org.post(
        refs_url(task), {"name": "prod", "file": upload(wrong_on(task, {P[1]})), "primary": value}
    )
    assert response.status_code == 400, response.content
    assert response.json()["primary"] == [
        'Must be true or false (in a form: the word "true" or "false").'
    ]
    assert stored_state(task) == before


@pytest.mark.parametrize("value", ["false", 0, None, [True], {"a": 1}, True])
def test_a_json_body_is_refused_whatever_its_primary(case, value):
    """The file travels in a form: a JSON body (``"false"``, 0, null, a list...) is refused
    as a whole, with nothing stored."""
    task = case["task"]
    org = api_client_for(organizer())
    before = stored_state(task)
    response = org.post(refs_url(task), {"name": "prod", "primary": value}, format="json")
    assert response.status_code == 415, response.content
    assert "Unsupported media type" in response.json()["detail"]
    assert stored_state(task) == before


def test_the_words_true_and_false_and_a_left_out_flag_are_taken(case):
    task, P = case["task"], case["P"]
    org = api_client_for(organizer())
    default = primary_reference(task=task).name

    kept = org.post(
        refs_url(task), {"name": "a", "file": upload(wrong_on(task, {P[1]})), "primary": "false"}
    )
    assert kept.status_code == 201, kept.json()
    assert kept.json()["is_primary"] is False

    left_out = org.post(refs_url(task), {"name": "b", "file": upload(wrong_on(task, {P[2]}))})
    assert left_out.status_code == 201 and left_out.json()["is_primary"] is False
    assert primary_reference(task=task).name == default  # running: no upload is silently primary

    made = org.post(
        refs_url(task), {"name": "c", "file": upload(wrong_on(task, {P[3]})), "primary": "true"}
    )
    assert made.status_code == 201 and made.json()["is_primary"] is True
    assert primary_reference(task=task).name == "c"
