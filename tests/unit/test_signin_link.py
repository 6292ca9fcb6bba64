"""The sign-in link `up` prints for the web page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from shared.tools import signin


def test_the_link_opens_the_page_at_the_dashboards_root_with_the_read_key() -> None:
    made = signin.link("http://127.0.0.1:8085/", "wsk_ab12+/=")
    parts = urlsplit(made)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:8085", "/")
    assert parse_qs(parts.query) == {"key": ["wsk_ab12+/="]}  # quoted, so any key survives the trip
    assert signin.link("http://h:1", "wsk_x") == "http://h:1/?key=wsk_x"
