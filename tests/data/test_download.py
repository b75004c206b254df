"""`cloudatlas data download` against a local server with every kind of bad answer."""
from __future__ import annotations

import json
import time

from PIL import Image

from cloudatlas.cli import main
from cloudatlas.data.download import DownloadOptions, download_images

from .tools_fixtures import Route, cache_env, copy_photo, http_server, jpeg_bytes, png_bytes, tree  # noqa: F401


def build_site(server, ccsn_dir) -> dict[str, str]:
    """Routes for an image-search result list; returns name -> URL."""
    cu = sorted((ccsn_dir / "Cu").glob("*.jpg"))
    good_jpeg = cu[10].read_bytes()
    with Image.open(cu[11]) as img:
        good_png = png_bytes(img.convert("RGB").resize((320, 240)))
    existing = cu[0].read_bytes()  # copied into the data set before the download
    with Image.open(cu[1]) as img:
        near = jpeg_bytes(img.convert("RGB").resize((280, 280)), quality=70)  # resized copy of a set photo
    routes = {
        "good.jpg": Route(good_jpeg, content_type="image/jpeg"),
        "photos/sky%20two.png": Route(good_png, content_type="image/png"),
        "gone.jpg": Route(b"Not Found", status=404, content_type="text/plain"),
        "page.jpg": Route(b"<!DOCTYPE html><html><body>Sign in to see this image</body></html>",
                          content_type="image/jpeg"),  # an HTML page that claims to be a JPEG
        "slow.jpg": Route(good_jpeg, delay=4.0, content_type="image/jpeg"),
        "huge.jpg": Route(good_jpeg + b"\0" * 3_000_000, content_type="image/jpeg", send_length=False),
        "huge-declared.jpg": Route(good_jpeg + b"\0" * 2_000_000, content_type="image/jpeg"),
        "truncated.jpg": Route(good_jpeg[: len(good_jpeg) // 2], content_type="image/jpeg"),
        "icon.png": Route(png_bytes(Image.new("RGB", (48, 48), "white")), content_type="image/png"),
        "existing.jpg": Route(existing, content_type="image/jpeg"),
        "near.jpg": Route(near, content_type="image/jpeg"),
        "again.jpg": Route(good_jpeg, content_type="image/jpeg"),  # the same photo under another URL
    }
    for name, route in routes.items():
        server.routes["/" + name] = route
    return {name: f"{server.url}/{name}" for name in routes}


def test_download_keeps_only_new_real_photos_and_says_why_not(http_server, ccsn_dir, tmp_path, cache_env, capsys):
    urls = build_site(http_server, ccsn_dir)
    dest = tmp_path / "data"
    cu = sorted((ccsn_dir / "Cu").glob("*.jpg"))
    copy_photo(cu[0], dest / "cumulus" / "mine-1.jpg")  # the set spells the label its own way
    copy_photo(cu[1], dest / "Ci" / "mine-2.jpg")  # duplicates under *another* label count too
    before = tree(dest)
    order = ["good.jpg", "photos/sky%20two.png", "gone.jpg", "page.jpg", "slow.jpg", "huge.jpg",
             "huge-declared.jpg", "truncated.jpg", "icon.png", "existing.jpg", "near.jpg", "again.jpg"]
    url_file = tmp_path / "urls.txt"
    url_file.write_text("# from an image search\n\n" + "\n".join(urls[n] for n in order)
                        + f"\n{urls['good.jpg']}\nftp://example.com/x.jpg\n")

    started = time.perf_counter()
    code = main(["data", "download", "--urls", str(url_file), "--label", "Cu", "--dest", str(dest),
                 "--timeout", "1.5", "--max-mb", "1", "--workers", "6", "--json"])
    seconds = time.perf_counter() - started
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    saved = {s["url"].rsplit("/", 1)[1]: s["path"] for s in report["saved"]}
    assert saved == {"good.jpg": "cumulus/good.jpg", "sky%20two.png": "cumulus/sky-two.png"}
    reasons = {}
    for s in report["skipped"]:
        reasons.setdefault(s["url"].rsplit("/", 1)[1], []).append(s["reason"])
    assert reasons == {
        "gone.jpg": ["http-error"], "page.jpg": ["not-an-image"], "slow.jpg": ["timeout"],
        "huge.jpg": ["too-large"], "huge-declared.jpg": ["too-large"], "truncated.jpg": ["not-an-image"],
        "icon.png": ["too-small"], "existing.jpg": ["duplicate"], "near.jpg": ["duplicate"],
        "again.jpg": ["duplicate"], "good.jpg": ["duplicate"], "x.jpg": ["invalid-url"],
    }
    details = {s["url"].rsplit("/", 1)[1]: s["detail"] for s in report["skipped"]}
    assert "HTML page" in details["page.jpg"] and "404" in details["gone.jpg"]
    assert "cumulus/mine-1.jpg" in details["existing.jpg"] and "Ci/mine-2.jpg" in details["near.jpg"]
    assert "cumulus/good.jpg" in details["again.jpg"] or "earlier in the list" in details["again.jpg"]

    files = tree(dest)
    assert {k: v for k, v in files.items() if k in before} == before  # nothing replaced
    new = sorted(set(files) - set(before) - {k for k in files if k.startswith(".cloudatlas/")})
    assert new == ["cumulus/good.jpg", "cumulus/sky-two.png"]
    assert (dest / "cumulus" / "good.jpg").read_bytes() == cu[10].read_bytes()  # stored as sent
    assert seconds < 15  # in parallel: the slow URL does not hold up the others


def test_download_into_a_new_set_and_name_clashes(http_server, ccsn_dir, tmp_path, cache_env):
    urls = build_site(http_server, ccsn_dir)
    dest = tmp_path / "fresh"
    with Image.open(sorted((ccsn_dir / "Cu").glob("*.jpg"))[20]) as img:
        copy_target = dest / "Cu" / "good.jpg"
        copy_target.parent.mkdir(parents=True)
        img.convert("RGB").rotate(90).save(copy_target)  # a different photo under the same name
    report = download_images([urls["good.jpg"]], dest, "cumulus", DownloadOptions(workers=2), progress=False)
    assert [s.path for s in report.saved] == ["Cu/good-1.jpg"]  # never overwrite
    assert "Saved 1 photos" in report.summary()
    assert download_images([], tmp_path / "empty", "Ci", progress=False).saved == []


def test_unreadable_url_list_is_a_clear_error(tmp_path, capsys):
    code = main(["data", "download", "--urls", str(tmp_path / "nope.txt"), "--label", "Cu",
                 "--dest", str(tmp_path / "d")])
    assert code == 2
    assert "cannot read the URL list" in capsys.readouterr().err
