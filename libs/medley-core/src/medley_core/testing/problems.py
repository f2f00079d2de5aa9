"""What a test asserts of an error answer: RFC 9457 problem details with a status."""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """``response`` (httpx's or a test client's) is a problem with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = dict(response.json())
    assert body["status"] == status
    return body
