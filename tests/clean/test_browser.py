"""The cleaner driven in headless Chromium: relabel, delete, undo, switch filters, keyboard.

After every step the files on disk are checked, not just the page.
"""
from __future__ import annotations

import pytest

from cloudatlas.clean import create_app

from ..conftest import live_server
from .cleaner_fixtures import files, review_set  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def card(page, path: str):
    return page.locator(f'.card[data-path="{path}"]')


def wait_status(page, path: str, status: str) -> None:
    page.wait_for_selector(f'.card[data-path="{path}"][data-status="{status}"]', timeout=10_000)


def test_review_in_the_browser(page, review_set, artifacts_dir):
    root = review_set
    original = files(root)
    with live_server(create_app(root, find_issues=False)) as url:
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        # Default view: photos with problems, the unreadable one first, then the conflict pair.
        paths = page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.path)")
        assert paths[0] == "Cu/broken.jpg" and set(paths[1:3]) == {"Ac/Ac-N013.jpg", "Cc/Cc-N029.jpg"}
        assert "same picture filed as Ac, Cc" in card(page, "Ac/Ac-N013.jpg").inner_text()
        page.screenshot(path=str(artifacts_dir / "cleaner-start.png"), full_page=True)

        # 1. Relabel with the card's list: applied at once, on disk.
        card(page, "Ac/Ac-N013.jpg").locator("select.move").select_option("Cc")
        wait_status(page, "Cc/Ac-N013.jpg", "moved")
        assert files(root) == original - {"Ac/Ac-N013.jpg"} | {"Cc/Ac-N013.jpg"}
        # The partner lost its conflict badge without a reload.
        assert "filed as" not in card(page, "Cc/Cc-N029.jpg").inner_text()

        # 2. Delete the exact copy: into the trash inside the data set.
        card(page, "Cu/Cu-N001-copy.jpg").locator("button.delete").click()
        wait_status(page, ".trash/Cu/Cu-N001-copy.jpg", "deleted")
        assert (root / ".trash" / "Cu" / "Cu-N001-copy.jpg").exists()
        assert not (root / "Cu" / "Cu-N001-copy.jpg").exists()

        # 3. Undo the last change (the delete) with the header button.
        page.click("#undo-last")
        wait_status(page, "Cu/Cu-N001-copy.jpg", "pending")
        assert files(root) == original - {"Ac/Ac-N013.jpg"} | {"Cc/Ac-N013.jpg"}

        # 4. Switch filters: label Ac, every photo; decide with the keyboard.
        page.select_option("#label-filter", "Ac")
        page.select_option("#kind-filter", "all")
        labels = page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.label)")
        assert labels and set(labels) == {"Ac"}
        card(page, "Ac/Ac-N001.jpg").locator(".title").click()  # select it
        page.keyboard.press("4")  # labels 1 Ac, 2 As, 3 Cb, 4 Cc: a name clash in Cc
        wait_status(page, "Cc/Ac-N001-1.jpg", "moved")
        assert (root / "Cc" / "Ac-N001-1.jpg").exists() and (root / "Cc" / "Ac-N001.jpg").exists()
        card(page, "Ac/Ac-N002.jpg").locator(".title").click()
        page.keyboard.press("Enter")  # keep
        wait_status(page, "Ac/Ac-N002.jpg", "kept")
        card(page, "Ac/Ac-N003.jpg").locator(".title").click()
        page.keyboard.press("d")
        wait_status(page, ".trash/Ac/Ac-N003.jpg", "deleted")
        assert (root / ".trash" / "Ac" / "Ac-N003.jpg").exists()
        page.keyboard.press("u")  # undo the delete
        wait_status(page, "Ac/Ac-N003.jpg", "pending")
        assert (root / "Ac" / "Ac-N003.jpg").exists() and not list((root / ".trash").rglob("*.jpg"))

        # 5. Switching label or filter loses no decision: they come back from the server.
        page.select_option("#label-filter", "Cc")
        page.select_option("#kind-filter", "decided")
        decided = set(page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.path)"))
        assert decided == {"Cc/Ac-N013.jpg", "Cc/Ac-N001-1.jpg"}
        page.select_option("#label-filter", "all")
        decided = set(page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.path)"))
        assert decided == {"Cc/Ac-N013.jpg", "Cc/Ac-N001-1.jpg", "Ac/Ac-N002.jpg"}
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.input_value("#kind-filter") == "decided"  # the filter is kept in the URL
        wait_status(page, "Ac/Ac-N002.jpg", "kept")
        wait_status(page, "Cc/Ac-N001-1.jpg", "moved")

        # 6. Undo any journal entry: the very first move.
        page.click("#toggle-journal")
        first = page.locator('#journal-list li[data-entry="1"]')
        assert "moved Ac/Ac-N013.jpg -> Cc/Ac-N013.jpg" in first.inner_text()
        first.locator("button").click()
        page.wait_for_selector('#journal-list li[data-entry="1"].undone')
        assert (root / "Ac" / "Ac-N013.jpg").exists() and not (root / "Cc" / "Ac-N013.jpg").exists()
        page.screenshot(path=str(artifacts_dir / "cleaner-after.png"), full_page=True)

    # Every photo is still there exactly once: in a label folder or the trash.
    assert len(files(root)) == len(original)
    assert files(root) == original - {"Ac/Ac-N001.jpg"} | {"Cc/Ac-N001-1.jpg"}


def test_another_page_in_the_browser_cannot_change_files(page, review_set):
    """A page from another origin tries both ways a browser allows without asking: a no-cors
    fetch and a form post. Neither can read the cleaner's token, so neither deletes anything."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    original = files(review_set)
    with live_server(create_app(review_set, find_issues=False)) as url:
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        target = page.locator('.card[data-path="Cu/Cu-N001-copy.jpg"]').get_attribute("data-id")
        delete = f"{url}/api/items/{target}/delete"
        evil_page = f"""<!doctype html><body>
            <form id="f" method="post" action="{delete}" enctype="text/plain"><input name="x" value="y"></form>
            <script>
              fetch("{delete}", {{method: "POST", mode: "no-cors", body: "x"}})
                .finally(() => {{ document.body.dataset.fetched = "1"; }});
            </script></body>"""
        evil = Starlette(routes=[Route("/", lambda request: HTMLResponse(evil_page))])
        with live_server(evil) as evil_url:
            page.goto(evil_url)
            page.wait_for_selector("body[data-fetched='1']")
            assert files(review_set) == original
            with page.expect_navigation():
                page.evaluate("document.getElementById('f').submit()")
            assert '"error":"forbidden"' in page.content()
        assert files(review_set) == original


def test_the_cleaner_speaks_through_the_api_client_it_shares_with_the_phone_page(page, review_set):
    """The cleaner's script is ES modules; its requests and their failures go through the one API
    client of the phone page (fetch + the JSON error format {status, error, message}), served by
    both apps from the same file."""
    from pathlib import Path

    import httpx

    shared = Path(__file__).resolve().parents[2] / "src" / "cloudatlas" / "server" / "static" / "shared" / "api.js"
    with live_server(create_app(review_set, find_issues=False)) as url:
        served = httpx.get(url + "/static/shared/api.js")
        assert served.status_code == 200 and served.text == shared.read_text()
        assert served.headers["content-type"].startswith("text/javascript")
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.querySelector('script[src]').type") == "module"
        assert page.evaluate("async () => typeof (await import('/static/shared/api.js')).request") == "function"

        # the server's sentence from a refusal, shown as an error
        refusal = {"status": 409, "error": "not_done", "message": "Cu/broken.jpg was changed on disk meanwhile."}
        page.route("**/api/items/*/keep", lambda route: route.fulfill(status=409, json=refusal))
        card(page, "Cu/broken.jpg").locator("button.keep").click()
        page.wait_for_selector("#message.error")
        assert page.inner_text("#message") == refusal["message"]
        # a server that cannot be reached: the client's one sentence for it
        page.unroute("**/api/items/*/keep")
        page.route("**/api/items/*/keep", lambda route: route.abort("connectionrefused"))
        card(page, "Cu/Cu-N001-copy.jpg").locator("button.keep").click()
        page.wait_for_function("() => document.getElementById('message').textContent.includes('Could not reach')")
        assert "error" in page.get_attribute("#message", "class")
