"""Every API error is JSON in a documented shape, and the schema lists the errors each
operation really answers (the live check is tests/security_tests/test_api_schemathesis.py)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    response = Client().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_operation_documents_its_errors_with_a_body(schema) -> None:
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert len(operations) >= 12
    for (method, path), operation in operations.items():
        responses = operation["responses"]
        expected = {"400", "401"} | ({"404"} if "{" in path else set())
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if status.startswith("4") and status != "416":
                body = response["content"]["application/json"]["schema"]
                assert "$ref" in body, (method, path, status)
    assert {"409"} <= set(operations[("POST", "/api/v1/challenges/{slug}/teams/")]["responses"])
    assert {"409", "404"} <= set(operations[("POST", "/api/v1/teams/join/")]["responses"])
    assert {"413", "429", "403"} <= set(
        operations[("POST", "/api/v1/tasks/{slug}/submissions/")]["responses"]
    )
    assert {"429"} <= set(operations[("POST", "/api/v1/auth/token/")]["responses"])
    assert {"206", "416"} <= set(
        operations[("GET", "/api/v1/tasks/{slug}/files/{name}")]["responses"]
    )
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert components["FieldErrors"]["additionalProperties"]["items"] == {"type": "string"}
    assert [one["$ref"].rsplit("/", 1)[1] for one in components["BadRequest"]["oneOf"]] == [
        "Error", "FieldErrors",
    ]  # fmt: skip


def test_unrouted_api_addresses_and_nul_characters_answer_json() -> None:
    client = Client()
    for path in ("/api/v1/nope/", "/api/v1/submissions/not-a-number/", "/api/v1/tasks/a%20b/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
    nul = client.get("/api/v1/tasks/?challenge=a%00b")
    assert (nul.status_code, nul.json()["code"]) == (400, "nul_character")
    page = client.get("/no-such-page/")  # the site keeps its HTML 404 page
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_schema_says_text_never_holds_nul(schema) -> None:
    tasks = schema["paths"]["/api/v1/tasks/"]["get"]["parameters"]
    challenge = next(p for p in tasks if p["name"] == "challenge")
    assert challenge["schema"]["pattern"] == "^[^\\x00]*$"
    limit = next(p for p in tasks if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1
