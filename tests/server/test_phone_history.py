"""A log of what the person saw (issue 16, point 6), in real headless Chromium: every answer kept in
IndexedDB (thumbnail, time, verdict, level, top genera, the person's choice, the place rounded to
about 1 km only if allowed); the History view works offline and deletes one or all; exports as
CSV and JSON with GLOBE-style fields, and as a ZIP that `cloudatlas train --data` reads as it is."""
import csv
import datetime as dt
import io
import json
import zipfile

import pytest

from cloudatlas.config import Recipe
from cloudatlas.data.dataset import scan_folder, split_of
from cloudatlas.imageio import load_image
from cloudatlas.server import ServiceSettings, create_app

from ..conftest import live_server
from .phone_helpers import PHONE, axe_violations

pytestmark = pytest.mark.browser

PARIS = {"latitude": 48.85661, "longitude": 2.35222}
GLOBE_TYPES = ["cirrus", "cirrocumulus", "cirrostratus", "altostratus", "altocumulus", "stratus", "stratocumulus",
               "nimbostratus", "cumulus", "cumulonimbus", "contrails"]


@pytest.fixture(scope="module")
def photos(ccsn_test_photos, heldout_not_sky, classifier):
    """A contrail the model is sure of, a photo it is not sure of, and a photo of something else."""
    sure = next(p for p in ccsn_test_photos["Ct"] if classifier.predict(p).confidence == "very_likely")
    unsure = next(p for g in ("Sc", "Ac", "St") for p in ccsn_test_photos[g]
                  if (r := classifier.predict(p)).verdict == "cloud" and r.confidence == "unsure")
    other = next(p for p in heldout_not_sky if classifier.predict(p).verdict == "not_sky")
    return {"sure": sure, "unsure": unsure, "other": other}


@pytest.fixture
def site(classifier):
    app = create_app(classifier=classifier, settings=ServiceSettings(max_concurrent=1, threads=1))
    with live_server(app) as url:
        yield url


@pytest.fixture
def history_page(browser, site):
    context = browser.new_context(viewport=PHONE, geolocation=PARIS)
    page = context.new_page()
    page.goto(site + "/")
    assert page.evaluate("window.cloudatlas.modelReady") is True
    yield page
    context.close()


def answer(page, path):
    page.evaluate("window.cloudatlas.lastAnswer = null")
    page.set_input_files("#photo", str(path))
    page.wait_for_function("() => window.cloudatlas.lastAnswer !== null", timeout=60_000)
    page.evaluate("window.cloudatlas.saved")
    return page.evaluate("window.cloudatlas.lastAnswer")


def entries(page) -> list[dict]:
    """The kept answers, newest first; the thumbnail's and the photo's blobs by their size."""
    return page.evaluate("""async () => (await (await import('/static/js/history.js')).list())
        .map(e => ({...e, thumb: e.thumb && e.thumb.size, photo: e.photo && e.photo.size}))""")


def test_every_answer_is_kept_on_the_device_with_the_place_only_if_allowed(history_page, photos, classifier):
    page = history_page
    page.context.grant_permissions(["geolocation"])  # the browser would tell; the page still must not ask
    before = dt.datetime.now(dt.timezone.utc)
    answer(page, photos["sure"])
    [entry] = entries(page)
    expected = classifier.predict(photos["sure"])
    assert entry["verdict"] == expected.verdict and entry["confidence"] == expected.confidence
    assert entry["level"] == expected.level and entry["headline"] == expected.headline
    assert [p["label"] for p in entry["top"]] == [p.label for p in expected.predictions[:3]]
    assert entry["top"][0]["probability"] == pytest.approx(expected.probability, abs=0.02)
    when = dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert entry["time"].endswith("Z") and before - dt.timedelta(seconds=5) <= when <= dt.datetime.now(dt.timezone.utc)
    assert entry["thumb"] > 500 and entry["photo"] > entry["thumb"] and entry["choice"] is None
    assert entry["place"] is None  # not allowed yet

    page.click("#history-link")
    page.check("#keep-place")
    page.click("#history-close")
    answer(page, photos["other"])
    newest = entries(page)[0]
    assert newest["place"] == {"latitude": 48.86, "longitude": 2.35}  # about 1 km, not the house
    assert newest["verdict"] == "not_sky"


def test_the_history_lists_offline_and_deletes_one_or_all(history_page, photos, artifacts_dir):
    page = history_page
    for key in ("sure", "other", "unsure"):
        answer(page, photos[key])
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.reload()
    page.click("#history-link")
    page.wait_for_selector("#history:not([hidden]) .history-item")
    assert page.locator(".history-item").count() == 3
    assert page.evaluate("[...document.querySelectorAll('.history-thumb')].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts_dir / "web-history-offline-phone.png"), full_page=True)
    assert axe_violations(page) == []
    page.locator(".history-item").nth(1).locator("button.delete").click()
    page.wait_for_function("() => document.querySelectorAll('.history-item').length === 2")
    assert len(entries(page)) == 2
    page.click("#history-clear")
    assert len(entries(page)) == 2  # asked twice: nothing gone yet
    assert "Really" in page.inner_text("#history-clear")
    page.click("#history-clear")
    page.wait_for_selector("#history-empty:not([hidden])")
    assert entries(page) == []
    page.context.set_offline(False)


def download(page, button) -> bytes:
    with page.expect_download() as info:
        page.click(button)
    return open(info.value.path(), "rb").read()


def test_exports_csv_json_and_a_zip_that_cloudatlas_train_reads(history_page, photos, tmp_path):
    page = history_page
    page.context.grant_permissions(["geolocation"])
    page.click("#history-link")
    page.check("#keep-place")
    page.click("#history-close")
    answer(page, photos["sure"])
    answer(page, photos["other"])
    unsure = answer(page, photos["unsure"])
    page.locator("#compare button.choose").first.click()  # the person's own choice
    page.evaluate("window.cloudatlas.saved")
    chosen = page.locator("#compare > li").first.get_attribute("data-label")
    page.click("#history-link")
    page.wait_for_selector(".history-item")

    rows = list(csv.DictReader(io.StringIO(download(page, "#export-csv").decode())))
    data = json.loads(download(page, "#export-json"))["observations"]
    assert len(rows) == len(data) == 3
    for row, obs in zip(rows, data):
        for field in ["measured_date_utc", "measured_time_utc", "latitude", "longitude", *GLOBE_TYPES,
                      "cloud_type_seen", "confidence", "person_choice", "verdict", "level", "top_genera"]:
            assert field in row and field in obs
        assert row["measured_date_utc"] == obs["measured_date_utc"] and len(row["measured_time_utc"]) == 8
        assert obs["latitude"] == 48.86 and obs["longitude"] == 2.35
    newest = data[0]  # the unsure one, with the person's choice
    assert newest["person_choice"] == chosen and newest["cloud_type_seen"] == chosen
    assert newest["confidence"] == unsure["confidence"] == "unsure"
    globe = dict(zip(["Ci", "Cc", "Cs", "As", "Ac", "St", "Sc", "Ns", "Cu", "Cb", "Ct"], GLOBE_TYPES))
    assert newest[globe[chosen]] == 1 and sum(newest[t] for t in GLOBE_TYPES) == 1
    contrail = data[2]
    assert contrail["contrails"] == 1 and contrail["person_choice"] is None and contrail["confidence"] == "very_likely"
    assert data[1]["verdict"] == "not_sky" and data[1]["cloud_type_seen"] is None

    archive = zipfile.ZipFile(io.BytesIO(download(page, "#export-zip")))
    assert archive.testzip() is None  # every CRC right
    names = sorted(archive.namelist())
    photos_in = [n for n in names if n.endswith(".jpg")]
    assert sorted({n.split("/")[0] for n in photos_in}) == sorted({"Ct", chosen})  # one folder per genus
    folder = tmp_path / "mine"
    archive.extractall(folder)
    samples = scan_folder(folder)  # what `cloudatlas train --data` reads
    assert sorted(s.label for s in samples) == sorted(["Ct", chosen])
    assert len(split_of(folder)) == 2
    Recipe.from_folder(folder)
    for s in samples:
        assert min(load_image(s.path).size) >= 256  # enough pixels to train on
    assert "history.csv" in names
