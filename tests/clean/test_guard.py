"""Only the cleaner's own page can change files: tried against a real uvicorn server on 127.0.0.1,
the way another web page (or a DNS-rebinding one) would try it."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from cloudatlas.clean.guard import TOKEN_HEADER, parse_host, parse_origin

from .cleaner_fixtures import cleaner, files, live_cleaner, review_set  # noqa: F401  (fixture)

EVIL = "https://evil.example"


def photo_id(url: str, path: str) -> int:
    state = httpx.get(f"{url}/api/state", timeout=30).json()
    return next(v["id"] for v in state["items"] if v["path"] == path)


def assert_forbidden(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["status"] == 403 and body["error"] == "forbidden"
    return body["message"]


def test_another_web_page_cannot_delete_a_photo(cleaner, review_set):
    url, token = cleaner
    target = photo_id(url, "Cu/Cu-N001-copy.jpg")
    before = files(review_set)
    # What a page on evil.example can send without a preflight: a "simple" text/plain POST.
    forged = {"Origin": EVIL, "Content-Type": "text/plain"}
    assert "other web pages" in assert_forbidden(httpx.post(f"{url}/api/items/{target}/delete", headers=forged,
                                                            content="x"))
    # Even a leaked token does not help another page, nor does hiding where it came from.
    for origin in (EVIL, "null", "http://127.0.0.1:1", f"https://{urlsplit(url).netloc}"):
        assert_forbidden(httpx.post(f"{url}/api/items/{target}/delete",
                                    headers={"Origin": origin, TOKEN_HEADER: token}))
    assert_forbidden(httpx.post(f"{url}/api/undo", headers=forged, content='{"entry": 1}'))
    assert files(review_set) == before

    # The page itself (same origin, with the token it was given) can.
    own = {"Origin": url, TOKEN_HEADER: token}
    httpx.post(f"{url}/api/items/{target}/delete", headers=own).raise_for_status()
    assert (review_set / ".trash" / "Cu" / "Cu-N001-copy.jpg").exists()


def test_changes_need_the_token_written_into_the_page(cleaner, review_set):
    url, token = cleaner
    target = photo_id(url, "Ac/Ac-N002.jpg")
    before = files(review_set)
    for headers in ({}, {TOKEN_HEADER: ""}, {TOKEN_HEADER: token[:-1]}, {TOKEN_HEADER: token + "x"}):
        message = assert_forbidden(httpx.post(f"{url}/api/items/{target}/move", json={"label": "Cu"},
                                              headers=headers))
        assert TOKEN_HEADER in message
    assert_forbidden(httpx.post(f"{url}/api/items/{target}/keep"))
    assert_forbidden(httpx.post(f"{url}/api/undo", json={}))
    assert files(review_set) == before and not (review_set / ".cloudatlas" / "journal.jsonl").exists()

    assert httpx.get(f"{url}/api/state").status_code == 200  # reading needs no token
    httpx.post(f"{url}/api/items/{target}/move", json={"label": "Cu"},
               headers={TOKEN_HEADER: token}).raise_for_status()
    assert (review_set / "Cu" / "Ac-N002.jpg").exists()

    # A restarted cleaner has a new token: the old one no longer works.
    with live_cleaner(review_set) as (again, new_token):
        assert new_token != token
        assert_forbidden(httpx.post(f"{again}/api/undo", json={}, headers={TOKEN_HEADER: token}))


def test_a_request_for_another_host_name_is_refused(cleaner, review_set):
    """DNS rebinding: evil.example resolves to 127.0.0.1, so the browser sends its name as Host."""
    url, token = cleaner
    port = urlsplit(url).port
    target = photo_id(url, "Ac/Ac-N002.jpg")
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", f"127.0.0.1.evil.example:{port}",
                 f"evil.example@127.0.0.1:{port}", ""):
        assert "own address" in assert_forbidden(httpx.get(f"{url}/", headers={"Host": host}))
        assert_forbidden(httpx.get(f"{url}/api/state", headers={"Host": host}))
        assert_forbidden(httpx.post(f"{url}/api/items/{target}/delete", headers={"Host": host, TOKEN_HEADER: token}))
    assert (review_set / "Ac" / "Ac-N002.jpg").exists()
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert httpx.get(f"{url}/api/state", headers={"Host": host}).status_code == 200


def test_a_name_the_cleaner_was_started_with_is_its_own(review_set):
    with live_cleaner(review_set, hosts=("cleaner.lan",)) as (url, token):
        port = urlsplit(url).port
        own = {"Host": f"cleaner.lan:{port}", "Origin": f"http://cleaner.lan:{port}", TOKEN_HEADER: token}
        target = photo_id(url, "Ac/Ac-N002.jpg")
        httpx.post(f"{url}/api/items/{target}/keep", headers=own).raise_for_status()
        assert_forbidden(httpx.get(f"{url}/", headers={"Host": f"other.lan:{port}"}))


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:8765", ("127.0.0.1", 8765)), ("LocalHost", ("localhost", 80)), ("[::1]:9", ("::1", 9)),
    ("a@127.0.0.1:1", None), ("127.0.0.1:1/x", None), ("127.0.0.1:", None), ("", None),
])
def test_host_header_parsing(value, expected):
    assert parse_host(value) == expected


def test_origin_parsing():
    assert parse_origin("http://127.0.0.1:8765") == ("http", "127.0.0.1", 8765)
    assert parse_origin("https://evil.example") == ("https", "evil.example", 443)
    assert parse_origin("null") is None and parse_origin("file://") is None
