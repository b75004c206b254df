"""Issue 16, point 9, in real headless Chromium: the heat map in a palette that does not read as sky,
with its legend in view; an install button where the browser offers one and the "Add to Home
Screen" hint on iOS; /docs showing the host and port it was opened at."""
import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from .phone_helpers import LAYOUTS, PHONE, in_view

pytestmark = pytest.mark.browser

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.4 Mobile/15E148 Safari/604.1")
INSTALL_OFFER = """() => {
    window.prompted = 0;
    const e = new Event('beforeinstallprompt', {cancelable: true});
    e.prompt = () => { window.prompted++; };
    e.userChoice = Promise.resolve({outcome: 'accepted'});
    window.dispatchEvent(e);
    return e.defaultPrevented;
}"""


def heat_map_pixels(data_url: str) -> np.ndarray:
    png = base64.b64decode(data_url.split(",", 1)[1])
    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.int32)
    return rgba[rgba[..., 3] >= 32][:, :3]  # visible ones (a canvas keeps little colour in near-transparent pixels)


def assert_not_sky_coloured(rgb: np.ndarray) -> None:
    """No visible pixel is blue, cyan, white or grey: red always outweighs blue, and the colours are strong."""
    assert len(rgb) > 100
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    assert (r >= b).all()
    assert (rgb.max(axis=1) - rgb.min(axis=1) >= 60).all()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_heat_map_does_not_read_as_sky_and_its_legend_is_in_view(browser, server, client, layout, ccsn_test_photos,
                                                                     artifacts_dir):
    context = browser.new_context(viewport=LAYOUTS[layout])
    page = context.new_page()
    page.goto(server + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    photo = ccsn_test_photos["Cu"][3]
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert_not_sky_coloured(heat_map_pixels(page.evaluate("window.cloudatlas.lastAnswer.cam")))  # drawn on the device
    page.check("#cam-toggle")
    overlay, legend = ("#cam-img", "#cam-legend") if layout == "desktop" else ("#thumb-cam", "#cam-legend")
    page.wait_for_timeout(200)
    assert in_view(page, overlay) and in_view(page, legend)
    assert "most attention" in page.inner_text(legend)
    page.screenshot(path=str(artifacts_dir / f"web-heat-map-{layout}.png"))
    context.close()
    if layout == "phone":  # and the server's heat map is drawn in the same colours
        with open(photo, "rb") as f:
            served = client.post("/api/v1/classify?cam=true", files={"file": (photo.name, f, "image/jpeg")}).json()
        assert_not_sky_coloured(heat_map_pixels(served["cam"]))


def test_an_install_button_where_the_browser_offers_it(browser, server, artifacts_dir):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_function("() => window.cloudatlas.engine")
    assert page.is_hidden("#install") and page.is_hidden("#ios-hint")  # nothing offered yet, not iOS
    assert page.evaluate(INSTALL_OFFER) is True  # the page keeps the offer for its own button
    page.wait_for_selector("#install:not([hidden])")
    page.click("#install")
    assert page.evaluate("window.prompted") == 1
    page.wait_for_selector("#install", state="hidden")
    context.close()


def test_ios_gets_the_add_to_home_screen_hint(browser, server, artifacts_dir):
    context = browser.new_context(viewport=PHONE, user_agent=IPHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector("#ios-hint:not([hidden])")
    assert "Add to Home Screen" in page.inner_text("#ios-hint")
    page.locator("#ios-hint").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "web-ios-hint-phone.png"))
    context.close()


def test_docs_show_the_host_and_port_they_were_opened_at(browser, server):
    port = server.rsplit(":", 1)[1]
    assert port != "8000"
    schema = httpx.get(server + "/docs/openapi.json").json()
    assert f"curl -F file=@sky.jpg http://127.0.0.1:{port}/api/v1/classify" in schema["info"]["description"]
    assert schema["servers"] == [{"url": f"http://127.0.0.1:{port}"}]
    lan = httpx.get(server + "/docs/openapi.json", headers={"host": "192.168.1.20:9000"}).json()
    assert "http://192.168.1.20:9000/api/v1/classify" in lan["info"]["description"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)
    text = page.inner_text(".swagger-ui .info")
    assert f"127.0.0.1:{port}/api/v1/classify" in text and ":8000" not in text
    context.close()
