"""Log lines are bounded whatever a caller sends: no URL's query string, no endless message."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from medley_core.logs import MAX_LOG_MESSAGE_CHARS, configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("as_json", [True, False])
def test_an_overlong_message_is_cut(capsys: pytest.CaptureFixture[str], as_json: bool) -> None:
    configure_logging("test", "INFO", as_json)
    logging.getLogger("medley.test").warning("refused %s", "x" * 1_000_000)
    (line,) = capsys.readouterr().err.splitlines()
    assert len(line) < MAX_LOG_MESSAGE_CHARS + 500
    assert "more characters]" in line
    if as_json:
        assert json.loads(line)["msg"].startswith("refused xxx")


def test_a_logged_url_loses_its_query_string(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "INFO", True)
    url = httpx.URL("http://users:8101/admin/users", params={"q": "secret" * 10})
    # The shape of httpx's own line for every request it sends.
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK"
    )
    (line,) = capsys.readouterr().err.splitlines()
    message = json.loads(line)["msg"]
    assert "secret" not in message
    assert message.startswith("HTTP Request: GET http://users:8101/admin/users?[")
    assert message.endswith('"HTTP/1.1 200 OK"')


def test_ordinary_messages_are_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "INFO", True)
    logging.getLogger("medley.test").info("call to %s failed: %s", "users", "timed out")
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["msg"] == "call to users failed: timed out"
