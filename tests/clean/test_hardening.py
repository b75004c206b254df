"""The cleaner against the data sets and pages a hostile or careless world hands it (issue 14):
another site framing it, links out of the data set, read-only folders, names that are not
UTF-8 or hold a newline, labels too long for a folder name. A real uvicorn server each time.
"""
from __future__ import annotations

import shutil
import time
import unicodedata

import httpx
import pytest

from cloudatlas.clean import create_app
from cloudatlas.clean.guard import TOKEN_HEADER

from ..conftest import live_server
from ..data.hostile_sets import non_utf8_name, read_only_folder
from .cleaner_fixtures import cleaner, client, files, live_cleaner, review_set  # noqa: F401  (fixture)


def by_path(state: dict) -> dict[str, dict]:
    return {v["path"]: v for v in state["items"]}


def item_id(client, path: str) -> int:
    return by_path(client.get("/api/state").json())[path]["id"]


def refused(response, *fragments: str) -> str:
    assert response.status_code == 409, response.text
    message = response.json()["message"]
    for fragment in fragments:
        assert fragment in message, message
    return message


def contents(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- 4. framing ------------------------------------------------------------------------------------
def test_every_answer_forbids_framing_and_sniffing(client):
    for path in ("/", "/api/state", "/static/app.js", f"/api/photo/{item_id(client, 'Ac/Ac-N002.jpg')}"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff", path


def test_a_page_of_another_site_cannot_frame_the_cleaner(page, review_set):
    """A near-invisible frame of the cleaner on another site, one click and 'd', deleted a photo."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    with live_server(create_app(review_set, find_issues=False)) as url:
        page.goto(url)  # the page itself still works under its policy: cards and thumbnails
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function("() => [...document.querySelectorAll('.card img')].some(i => i.naturalWidth > 0)")
        assert violations == []
        framing = f"""<!doctype html><body><iframe id="f" style="opacity:0.01" src="{url}/"></iframe>
            <script>document.getElementById("f").onload = () => {{ document.body.dataset.loaded = "1"; }};</script>
            </body>"""
        evil = Starlette(routes=[Route("/", lambda request: HTMLResponse(framing))])
        with live_server(evil) as evil_url:
            page.goto(evil_url)
            page.wait_for_selector("body[data-loaded='1']")
            framed = next(f for f in page.frames if f is not page.main_frame)
            assert framed.query_selector("#grid") is None, "the cleaner rendered inside another site's frame"


def test_head_answers_like_get(client):
    for path in ("/", "/api/state"):
        assert client.head(path).status_code == 200 and client.head(path).content == b""


# -- 5. links out of the data set -------------------------------------------------------------------
def test_links_out_of_the_data_set_are_neither_shown_nor_followed(review_set, tmp_path):
    outside = tmp_path / "outside"
    (outside / "Cu").mkdir(parents=True)
    (outside / "theirs.jpg").write_bytes((review_set / "Ac" / "Ac-N002.jpg").read_bytes())
    (outside / "Cu" / "theirs.jpg").write_bytes(b"a file of somebody else")
    theirs = contents(outside)
    (review_set / "Ns").symlink_to(outside)  # a label folder that is a link out
    before = files(review_set)
    with live_cleaner(review_set) as (url, token):
        with httpx.Client(base_url=url, headers={TOKEN_HEADER: token}, timeout=30) as c:
            state = c.get("/api/state").json()
            assert not any(v["path"].startswith("Ns/") for v in state["items"])
            assert any("Ns/theirs.jpg" in n and "lead out of" in n for n in state["notes"])
            photo = item_id(c, "Ac/Ac-N002.jpg")
            refused(c.post(f"/api/items/{photo}/move", json={"label": "Ns"}), "leads out of the data set")
            shutil.rmtree(review_set / ".trash", ignore_errors=True)
            (review_set / ".trash").symlink_to(outside)  # the trash, made a link while it runs
            refused(c.post(f"/api/items/{photo}/delete"), "leads out of the data set", "nothing changed")
            journal = review_set / ".cloudatlas" / "journal.jsonl"
            journal.parent.mkdir(exist_ok=True)
            journal.symlink_to(outside / "theirs.jpg")  # and the journal a link to their file
            refused(c.post(f"/api/items/{photo}/keep"), "link")
            refused(c.post(f"/api/items/{photo}/move", json={"label": "Cc"}), "the change was reversed")
    assert contents(outside) == theirs and files(review_set) == before


# -- 6. read-only folders ----------------------------------------------------------------------------
def test_a_read_only_label_folder_leaves_its_photo_exactly_once(client, review_set):
    """Delete answered 409 'nothing changed' while the photo also sat in .trash (a second link),
    and a move left it under two labels."""
    photo = item_id(client, "Ac/Ac-N002.jpg")
    (review_set / ".trash" / "Ac").mkdir(parents=True)
    before = contents(review_set)
    with read_only_folder(review_set / "Ac"):
        refused(client.post(f"/api/items/{photo}/delete"), "could not be moved", "nothing changed")
        refused(client.post(f"/api/items/{photo}/move", json={"label": "Cu"}), "nothing changed")
        assert contents(review_set) == before
    assert by_path(client.get("/api/state").json())["Ac/Ac-N002.jpg"]["status"] == "pending"
    client.post(f"/api/items/{photo}/delete").raise_for_status()  # writable again: it works
    assert (review_set / ".trash" / "Ac" / "Ac-N002.jpg").exists()


# -- 8, 15. names a page cannot show as they are -------------------------------------------------------
@pytest.mark.parametrize("name, shown", [(b"caf\xe9.jpg", "Cu/caf\\xe9.jpg"), (b"new\nline.jpg", None)],
                         ids=["latin-1", "newline"])
def test_a_photo_with_an_odd_name_is_listed_and_can_be_kept_moved_and_deleted(review_set, ccsn_dir, name, shown):
    """One name that is not UTF-8 made /api/state a 500 (the page never loaded); one with a
    newline was listed, but every action answered 409 'not a photo of this data set'."""
    photo = non_utf8_name(review_set / "Cu", name, (ccsn_dir / "Cu" / "Cu-N010.jpg").read_bytes())
    with live_cleaner(review_set) as (url, token):
        with httpx.Client(base_url=url, headers={TOKEN_HEADER: token}, timeout=30) as c:
            r = c.get("/api/state")
            assert r.status_code == 200, r.text
            item = next(v for v in r.json()["items"] if v["name"] in (photo.name, shown and shown.split("/")[1]))
            if shown:
                assert item["path"] == shown and any("not UTF-8" in n for n in r.json()["notes"])
            assert c.get(f"/api/photo/{item['id']}").status_code == 200  # its thumbnail
            for action, body in (("keep", None), ("move", {"label": "Ns"}), ("delete", None)):
                r = c.post(f"/api/items/{item['id']}/{action}", json=body)
                assert r.status_code == 200, (action, r.text)
            assert (review_set / ".trash" / "Ns" / photo.name).exists()
            c.post("/api/undo", json={"entry": 2}).raise_for_status()  # the move, and the delete on it
    assert photo.exists()


# -- 14, 19. labels --------------------------------------------------------------------------------------
def test_a_label_of_70_emoji_is_refused_in_words_not_a_500(client, review_set):
    before = files(review_set)
    photo = item_id(client, "Ac/Ac-N002.jpg")
    refused(client.post(f"/api/items/{photo}/move", json={"label": "\U0001F329" * 70}),
            "at most 255 bytes", "280")
    assert files(review_set) == before


def test_full_width_and_decomposed_labels_land_in_the_folders_that_exist(client, review_set):
    photo = item_id(client, "Ac/Ac-N002.jpg")
    moved = client.post(f"/api/items/{photo}/move", json={"label": "Ｃｕ"}).json()
    assert {v["id"]: v for v in moved["items"]}[photo]["path"] == "Cu/Ac-N002.jpg"
    client.post(f"/api/items/{photo}/move", json={"label": "Thé"}).raise_for_status()
    other = item_id(client, "Ac/Ac-N003.jpg")
    client.post(f"/api/items/{other}/move", json={"label": unicodedata.normalize("NFD", "Thé")}).raise_for_status()
    assert sorted(p.name for p in review_set.iterdir() if not p.name.startswith(".")) == ["Ac", "Cc", "Cu", "Thé"]


# -- 18. a group of many identical photos ------------------------------------------------------------------
def test_the_page_of_2000_identical_photos_is_quick_and_names_a_few_copies_each(review_set):
    photo = (review_set / "Cu" / "Cu-N002.jpg").read_bytes()
    for i in range(2000):
        (review_set / "Cu" / f"placeholder-{i:04d}.jpg").write_bytes(photo)
    with live_cleaner(review_set) as (url, _):
        started = time.perf_counter()
        state = httpx.get(url + "/api/state", timeout=60).json()
        seconds = time.perf_counter() - started
    copy = by_path(state)["Cu/placeholder-0007.jpg"]
    duplicate = next(p for p in copy["problems"] if p["kind"] == "duplicate")
    assert len(duplicate["related"]) == 10 and duplicate["message"].endswith("and 1990 more")
    assert seconds < 5, seconds


# -- 17. a port no server can listen on ---------------------------------------------------------------
def test_clean_with_a_port_out_of_range_is_one_line_and_exit_2(review_set, capsys):
    from cloudatlas.cli import main

    assert main(["clean", "--data", str(review_set), "--port", "99999", "--no-browser", "--no-issues"]) == 2
    assert capsys.readouterr().err == "error: --port 99999: a port is a number from 1 to 65535.\n"
