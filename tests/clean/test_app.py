"""The cleaner's JSON API, served by a real uvicorn server: problems, ordering, thumbnails,
changes applied at once, undo, and the answers to values it cannot use."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient

from cloudatlas.clean import create_app
from cloudatlas.clean.guard import TOKEN_HEADER

from ..data.tools_fixtures import feature_model  # noqa: F401  (fixture)
from .cleaner_fixtures import cleaner, client, files, page_token, review_set  # noqa: F401  (fixture)


def by_path(state: dict) -> dict[str, dict]:
    return {v["path"]: v for v in state["items"]}


def test_state_lists_problems_most_suspicious_first(client):
    assert "CloudAtlas cleaner" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200
    state = client.get("/api/state").json()
    items = by_path(state)
    assert state["items"][0]["path"] == "Cu/broken.jpg"  # unreadable first, then conflicts
    assert {v["path"] for v in state["items"][1:3]} == {"Ac/Ac-N013.jpg", "Cc/Cc-N029.jpg"}
    assert items["Ac/Ac-N013.jpg"]["kinds"] == ["conflict", "duplicate"]
    assert items["Cu/Cu-N001-copy.jpg"]["kinds"] == ["duplicate"]
    assert items["Cu/broken.jpg"]["kinds"] == ["unreadable"]
    assert items["Ac/Ac-N002.jpg"]["kinds"] == [] and items["Ac/Ac-N002.jpg"]["status"] == "pending"
    assert state["kind_counts"]["conflict"] == 2
    assert "Ac" in state["labels"] and "St" in state["labels"]  # every genus can be chosen
    assert any("not searched" in n for n in state["notes"])

    good = client.get(f"/api/photo/{items['Ac/Ac-N002.jpg']['id']}?size=120")
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
    bad = client.get(f"/api/photo/{items['Cu/broken.jpg']['id']}")
    assert bad.status_code == 415 and "truncated" in bad.json()["message"]
    assert client.get("/api/photo/9999").status_code == 404


def test_changes_are_applied_at_once_and_undoable(client, review_set):
    items = by_path(client.get("/api/state").json())
    ac013, cc029 = items["Ac/Ac-N013.jpg"]["id"], items["Cc/Cc-N029.jpg"]["id"]

    moved = client.post(f"/api/items/{ac013}/move", json={"label": "cirrocumulus"}).json()
    assert (review_set / "Cc" / "Ac-N013.jpg").exists() and not (review_set / "Ac" / "Ac-N013.jpg").exists()
    changed = {v["id"]: v for v in moved["items"]}
    assert changed[ac013]["status"] == "moved" and changed[ac013]["label"] == "Cc"
    assert changed[cc029]["kinds"] == ["duplicate"]  # the conflict is resolved for the partner too
    assert moved["journal"][0]["text"] == "moved Ac/Ac-N013.jpg -> Cc/Ac-N013.jpg"

    clash = items["Ac/Ac-N001.jpg"]["id"]
    client.post(f"/api/items/{clash}/move", json={"label": "Cc"})
    assert (review_set / "Cc" / "Ac-N001-1.jpg").exists() and (review_set / "Cc" / "Ac-N001.jpg").exists()

    copy = items["Cu/Cu-N001-copy.jpg"]["id"]
    deleted = client.post(f"/api/items/{copy}/delete").json()
    assert (review_set / ".trash" / "Cu" / "Cu-N001-copy.jpg").exists()
    assert {v["id"]: v for v in deleted["items"]}[copy]["status"] == "deleted"
    assert client.post(f"/api/items/{copy}/delete").status_code == 409  # already in the trash

    client.post(f"/api/items/{items['Cu/Cu-N002.jpg']['id']}/keep")
    state = by_path(client.get("/api/state").json())
    assert state["Cu/Cu-N002.jpg"]["status"] == "kept"

    undone = client.post("/api/undo", json={}).json()  # the keep
    assert {v["path"]: v for v in undone["items"]}["Cu/Cu-N002.jpg"]["status"] == "pending"
    first = client.get("/api/journal").json()["entries"][-1]
    client.post("/api/undo", json={"entry": first["id"]})  # any entry: the first move
    assert (review_set / "Ac" / "Ac-N013.jpg").exists()
    assert by_path(client.get("/api/state").json())["Ac/Ac-N013.jpg"]["kinds"] == ["conflict", "duplicate"]

    assert client.post(f"/api/items/{clash}/move", json={"label": "../etc"}).status_code == 409
    assert client.post(f"/api/items/{clash}/move", json={}).status_code == 422
    assert client.post("/api/undo", json={"entry": 999}).status_code == 409
    assert client.post("/api/items/999/keep").status_code == 404

    # A fresh server (a restart) reads the journal back: decisions survive.
    again = by_path(TestClient(create_app(review_set, find_issues=False)).get("/api/state").json())
    assert again[".trash/Cu/Cu-N001-copy.jpg"]["status"] == "deleted"
    assert again["Cc/Ac-N001-1.jpg"]["status"] == "moved" and again["Cc/Ac-N001-1.jpg"]["original"] == "Ac/Ac-N001.jpg"
    summary = client.get("/api/journal").json()["summary"]
    assert summary["moved"] == 1 and summary["deleted"] == 1 and summary["in_trash"] == 1


def test_suspicious_labels_from_a_model(review_set, feature_model):
    state = TestClient(create_app(review_set, model=feature_model)).get("/api/state").json()
    assert state["notes"] == []
    judged = [v for v in state["items"] if v["quality"] is not None]
    assert len(judged) == len(state["items"]) - 1  # all but the unreadable one
    assert all(v["suggested"] in ("Ac", "Cc", "Cu") for v in judged)
    assert "suspicious" in state["kind_counts"]


def test_missing_model_is_a_note_not_a_crash(review_set, tmp_path):
    state = TestClient(create_app(review_set, model=tmp_path / "none.onnx")).get("/api/state").json()
    assert any("Model file not found" in n for n in state["notes"])


def test_clean_command_serves_the_page_and_prints_the_log(review_set, tmp_path):
    """`cloudatlas clean DIR --no-browser` end to end, in its own process."""
    import json
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from ..conftest import free_port

    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cloudatlas", "clean", str(review_set), "--no-browser",
                             "--no-issues", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=2) as r:
                    state = json.load(r)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stderr.read() if proc.poll() is not None else "no server")
                time.sleep(0.2)
        item = next(v for v in state["items"] if v["path"] == "Cu/Cu-N001-copy.jpg")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            token = page_token(r.read().decode())
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/items/{item['id']}/delete", method="POST",
                                         headers={TOKEN_HEADER: token})
        urllib.request.urlopen(request, timeout=5).close()
        assert (review_set / ".trash" / "Cu" / "Cu-N001-copy.jpg").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    log = subprocess.run([sys.executable, "-m", "cloudatlas", "clean", str(review_set), "--log"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert log.returncode == 0 and "deleted Cu/Cu-N001-copy.jpg" in log.stdout


def test_clean_command_refuses_read_only_data(tmp_path, capsys):
    from cloudatlas.cli import main

    ro = tmp_path / "ro"
    (ro / "Cu").mkdir(parents=True)
    ro.chmod(0o555)
    try:
        assert main(["clean", str(ro), "--no-browser"]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


# -- values the cleaner cannot use: one JSON error, never a 500 or a dropped connection -----------
def assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "error", "message"} and body["status"] == status and body["error"] == error
    return body


def test_bad_values_get_a_json_error_and_change_nothing(client, review_set):
    before = files(review_set)
    items = by_path(client.get("/api/state").json())
    photo = items["Ac/Ac-N002.jpg"]["id"]
    for label in ("Cu\u0000", "Cu\nx", "x" * 101, 7, None):
        body = assert_error(client.post(f"/api/items/{photo}/move", json={"label": label}), 422, "invalid_request")
        assert body["message"].startswith("The request is not valid (label: ")
    assert_error(client.post(f"/api/items/{photo}/move", json={"label": "Cu", "extra": 1}), 422, "invalid_request")
    client.post(f"/api/items/{photo}/keep")  # something to undo: bad numbers must not reach it
    for raw in ('{"entry": 1e400}', '{"entry": [1]}', '{"entry": "abc"}', '{"entry": 1.5}', '{"entry": true}',
                '{"entry": 0}', '{"entry": ', '[1]'):
        body = assert_error(client.post("/api/undo", content=raw, headers={"Content-Type": "application/json"}),
                            422, "invalid_request")
        assert "invalid literal" not in body["message"] and "Traceback" not in body["message"]
    assert_error(client.post("/api/items/abc/keep"), 422, "invalid_request")
    assert_error(client.get("/api/photo/1?size=1e400"), 422, "invalid_request")
    assert_error(client.post("/api/items/999/keep"), 404, "not_found")
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.post(f"/api/items/{photo}/move", json={"label": "../etc"}), 409, "not_done")
    assert_error(client.post("/api/undo", json={"entry": 999}), 409, "not_done")
    assert_error(client.post("/api/undo", json={"entry": 10**30}), 409, "not_done")
    assert files(review_set) == before
    assert [e["op"] for e in client.get("/api/journal").json()["entries"]] == ["keep"]


def test_undoing_a_move_to_a_new_label_removes_the_folder_it_made(client, review_set):
    photo = by_path(client.get("/api/state").json())["Ac/Ac-N002.jpg"]["id"]
    client.post(f"/api/items/{photo}/move", json={"label": "stratus"}).raise_for_status()
    assert (review_set / "St" / "Ac-N002.jpg").exists()
    client.post("/api/undo", json={}).raise_for_status()
    assert (review_set / "Ac" / "Ac-N002.jpg").exists() and not (review_set / "St").exists()
    client.post(f"/api/items/{photo}/delete").raise_for_status()
    client.post("/api/undo").raise_for_status()  # no body at all: the last change
    assert not (review_set / ".trash" / "Ac").exists()


def test_a_forged_journal_entry_is_reported_and_moves_nothing(review_set, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    journal = review_set / ".cloudatlas" / "journal.jsonl"
    journal.parent.mkdir()
    journal.write_text(json.dumps({"id": 1, "op": "move", "path": "../outside/evil.jpg",
                                   "dest": "Ac/Ac-N002.jpg", "label": "Ac"}) + "\n")
    before = files(review_set)
    from .cleaner_fixtures import live_cleaner

    with live_cleaner(review_set) as (url, token):
        import httpx

        with httpx.Client(base_url=url, headers={TOKEN_HEADER: token}) as c:
            assert any("#1" in n and "outside the data set" in n for n in c.get("/api/state").json()["notes"])
            for body in ({}, {"entry": 1}):
                refusal = assert_error(c.post("/api/undo", json=body), 409, "not_done")
                assert "'../outside/evil.jpg'" in refusal["message"] and "nothing was moved" in refusal["message"]
    assert files(review_set) == before and not any(outside.iterdir())
