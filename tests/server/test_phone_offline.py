"""Offline and installable: after one visit the page is cached by the service worker and the model
and the runtime by the model's worker, and the page answers with the server gone; a new model
replaces the cached one; the manifest lets a phone add the page to its home screen."""
import hashlib
import json

import httpx
import pytest

from cloudatlas.server import ServiceSettings, create_app

from ..conftest import free_port, live_server

ANSWERED = "#result:not([hidden]), #rejection:not([hidden]), #error:not([hidden]), #clear-sky:not([hidden])"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- what the server offers ------------------------------------------------------------------------
def test_the_model_description_matches_the_model_file(client, classifier):
    info = client.get("/api/v1/model").json()
    assert info["labels"] == classifier.labels and info["names"] == classifier.names
    assert info["img_size"] == classifier.img_size and info["input"] == classifier.input_name
    assert info["cloud_threshold"] == classifier.gate_threshold
    assert info["clear_sky_threshold"] == classifier.clear_threshold
    assert set(info["outputs"]) == classifier.outputs
    assert info["sha256"] == sha256(classifier.path) and info["bytes"] == classifier.path.stat().st_size
    assert info["url"] == f"/model.onnx?v={info['sha256'][:12]}"
    # the runtime's binary: what comes down (gzip) and what it is decompressed, keyed by its hash
    runtime = info["runtime"]
    assert runtime["url"] == f"/static/vendor/ort/ort-wasm-simd-threaded.wasm?v={runtime['sha256'][:12]}"
    assert runtime["bytes"] < runtime["decoded_bytes"] / 2
    assert info["thresholds"] == classifier.thresholds and set(info["levels"]) == {"high", "middle", "low"}


def test_the_model_file_has_a_strong_etag_and_is_immutable_under_its_hash(client, classifier):
    info = client.get("/api/v1/model").json()
    r = client.get(info["url"])
    assert r.status_code == 200 and r.content == classifier.path.read_bytes()
    assert r.headers["etag"] == f'"sha256-{info["sha256"]}"'  # strong: no W/
    assert "immutable" in r.headers["cache-control"]
    again = client.get(info["url"], headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert "immutable" not in client.get("/model.onnx?v=old").headers["cache-control"]


def test_the_runtime_is_served_compressed_and_the_worker_knows_this_build(client):
    wasm = client.get("/static/vendor/ort/ort-wasm-simd-threaded.wasm", headers={"accept-encoding": "gzip"})
    assert wasm.status_code == 200, "run `make vendor` (make serve and make test do)"
    assert wasm.headers["content-encoding"] == "gzip" and wasm.headers["content-type"] == "application/wasm"
    assert int(wasm.headers["content-length"]) < len(wasm.content) / 2  # httpx has decompressed it
    assert wasm.content[:4] == b"\0asm"
    sw = client.get("/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    build = json.loads(sw.text.split("\n", 1)[0].removeprefix("const BUILD = ").rstrip(";"))
    info = client.get("/api/v1/model").json()
    assert build["model"] == {"url": info["url"], "sha256": info["sha256"]}
    assert build["runtime"] == {"sha256": info["runtime"]["sha256"]}
    for url in ["/", "/static/js/main.js", "/static/js/worker.js", "/static/shared/api.js",
                "/static/vendor/ort/ort.wasm.bundle.min.mjs", "/api/v1/model", "/api/v1/labels"]:
        assert url in build["shell"]
    # the large binary is not downloaded on install: the model's worker stores it, only if it is used
    assert not [u for u in build["shell"] if u.endswith(".wasm") or u.startswith("/model.onnx")]
    for url in build["shell"]:
        assert client.get(url).status_code == 200, url


def test_the_manifest_makes_the_page_installable(client):
    r = client.get("/manifest.webmanifest")
    assert r.headers["content-type"].startswith("application/manifest+json")
    manifest = r.json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone" and manifest["name"]
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert any("maskable" in icon.get("purpose", "") for icon in manifest["icons"])
    page = client.get("/").text
    assert 'rel="manifest"' in page and 'rel="apple-touch-icon"' in page


# -- in the browser --------------------------------------------------------------------------------
def model_caches(page) -> list[str]:
    return page.evaluate("async () => (await caches.keys()).filter(k => k.startsWith('cloudatlas-model-'))")


def wait_until_offline_ready(page):
    assert page.evaluate("window.cloudatlas.modelReady") is True
    page.wait_for_function("() => document.getElementById('offline-note').textContent.includes('offline')",
                           timeout=60_000)


@pytest.mark.browser
def test_after_one_visit_the_page_works_with_the_network_off(browser, classifier, ccsn_dir, artifacts_dir):
    app = create_app(classifier=classifier, settings=ServiceSettings(max_concurrent=1, threads=1))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    with live_server(app) as url:
        page.goto(url + "/")
        wait_until_offline_ready(page)
        assert model_caches(page) == [f"cloudatlas-model-{sha256(classifier.path)[:12]}"]
        runtime = httpx.get(url + "/api/v1/model").json()["runtime"]
        assert f"cloudatlas-runtime-{runtime['sha256'][:12]}" in page.evaluate("caches.keys()")
    # the server is gone, and the browser is told it is offline too
    context.set_offline(True)
    page.reload()
    photo = ccsn_dir / "Ct" / "Ct-N002.jpg"
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector(ANSWERED, timeout=120_000)
    answer = page.evaluate("window.cloudatlas.lastAnswer")
    assert answer["where"] == "device" and page.is_hidden("#error")
    expected = classifier.predict(photo)
    assert answer["predictions"][0]["label"] == expected.label
    assert page.inner_text("#card-look")  # the genus descriptions were cached too
    page.screenshot(path=str(artifacts_dir / "web-offline.png"), full_page=True)
    context.close()


@pytest.mark.browser
def test_a_new_model_replaces_the_cached_one(browser, classifier, tmp_path):
    import onnx

    # the same network with other metadata: other bytes, so another hash, as a retrained model has
    model = onnx.load(str(classifier.path))
    prop = next(p for p in model.metadata_props if p.key == "cloudatlas")
    prop.value = json.dumps({**json.loads(prop.value), "version": "0.2.0-test"})
    newer = tmp_path / "newer.onnx"
    onnx.save(model, str(newer))
    from cloudatlas.inference import Classifier

    old_hash, new_hash = sha256(classifier.path)[:12], sha256(newer)[:12]
    assert old_hash != new_hash
    port = free_port()  # one origin for both: the same service worker and caches
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    with live_server(create_app(classifier=classifier), port) as url:
        page.goto(url + "/")
        wait_until_offline_ready(page)
        assert model_caches(page) == [f"cloudatlas-model-{old_hash}"]
    with live_server(create_app(classifier=Classifier.load(newer, threads=1)), port) as url:
        page.reload()  # the browser finds a new service worker, which caches the new model
        page.wait_for_function("""async name => {
            const keys = (await caches.keys()).filter(k => k.startsWith('cloudatlas-model-'));
            return keys.length === 1 && keys[0] === name;
        }""", arg=f"cloudatlas-model-{new_hash}", timeout=120_000)
        assert page.evaluate("window.cloudatlas.modelReady") is True
    context.close()
