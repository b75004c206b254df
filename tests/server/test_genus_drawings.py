"""The eleven genus drawings: present, well-formed, self-contained, accessible and small."""
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest

GENERA_DIR = pathlib.Path(__file__).resolve().parents[2] / "src" / "cloudatlas" / "server" / "static" / "genera"
CODES = ["Ac", "As", "Cb", "Cc", "Ci", "Cs", "Ct", "Cu", "Ns", "Sc", "St"]
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def local(tag):
    return tag.rsplit("}", 1)[-1]


@pytest.mark.parametrize("code", CODES)
def test_genus_drawing_is_a_small_self_contained_accessible_svg(code):
    path = GENERA_DIR / f"{code}.svg"
    assert path.is_file(), f"missing {path}"
    data = path.read_bytes()
    assert len(data) < 6 * 1024, f"{code}.svg is {len(data)} bytes"

    root = ET.fromstring(data)
    assert root.tag == SVG + "svg"
    assert root.get("viewBox") == "0 0 240 160"
    assert root.get("role") == "img"

    titles = [el for el in root if el.tag == SVG + "title"]
    assert titles and (titles[0].text or "").strip(), "needs a non-empty <title>"
    assert root.get("aria-labelledby") == titles[0].get("id")

    for el in root.iter():
        assert local(el.tag) not in {"script", "image", "foreignObject"}, f"<{local(el.tag)}> in {code}.svg"
        for name, value in el.attrib.items():
            assert not name.startswith("on"), f"event handler {name} in {code}.svg"
            if name in {"href", XLINK_HREF}:
                assert value.startswith("#"), f"external reference {value!r} in {code}.svg"
            for ref in re.findall(r"url\(\s*([^)]*)\)", value):
                assert ref.strip("'\" ").startswith("#"), f"external url({ref}) in {code}.svg"


def test_every_drawing_has_its_own_ids():
    """Ids are prefixed per genus, so several drawings can be inlined in one page without clashing."""
    seen = {}
    for code in CODES:
        root = ET.fromstring((GENERA_DIR / f"{code}.svg").read_bytes())
        for el in root.iter():
            if "id" in el.attrib:
                assert el.get("id") not in seen, f"id {el.get('id')!r} in both {seen.get(el.get('id'))} and {code}"
                seen[el.get("id")] = code
