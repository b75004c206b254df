"""What each genus means for the weather (issue 16, point 8): /api/v1/labels carries it in plain
words, and the page's genus cards, compare cards and bars show it."""
import pytest

from cloudatlas.labels import GENERA

from .phone_helpers import PHONE, USE_SERVER, answer_for, fulfil_with, jpeg


def test_every_genus_says_what_it_means_for_the_weather(client):
    labels = {g["code"]: g for g in client.get("/api/v1/labels").json()["labels"]}
    assert set(labels) == set(GENERA)
    for code, genus in labels.items():
        assert genus["weather"] == GENERA[code].weather and len(genus["weather"]) > 30
    assert "storm is close" in labels["Cb"]["weather"]
    assert "front" in labels["Cs"]["weather"] and "day" in labels["Cs"]["weather"]


@pytest.mark.browser
def test_the_cards_say_what_the_cloud_means_for_the_weather(browser, server):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(USE_SERVER)
    page = context.new_page()
    page.goto(server + "/")
    page.route("**/api/v1/classify*", fulfil_with(answer_for("cloud", {"Cs": 0.9})))
    page.set_input_files("#photo", files=[jpeg()])
    page.wait_for_selector("#result:not([hidden])")
    assert page.inner_text("#card-weather") == GENERA["Cs"].weather
    page.locator("#bars li").nth(1).locator("summary").click()  # another genus's card, under its bar
    second = page.locator("#bars li").nth(1)
    code = second.locator(".code").inner_text().strip()
    assert GENERA[code].weather in second.inner_text()
    page.click("#compare-open")
    first = page.locator("#compare > li").first
    assert "What it means for the weather" in first.inner_text() and GENERA["Cs"].weather in first.inner_text()
    context.close()
