"""One pHash and one near-duplicate grouper, used alike by the audit, automatic splits and recipes."""
import shutil

from PIL import Image

from cloudatlas.data import photo_groups, scan_folder
from cloudatlas.data.audit import audit


def test_a_photo_stored_sideways_with_exif_rotation_is_the_same_picture(tmp_path, ccsn_dir):
    """Phones store photos sideways plus an EXIF rotation: the picture a person sees is what counts."""
    src = sorted((ccsn_dir / "Cu").glob("*.jpg"))[0]
    other = sorted((ccsn_dir / "Ci").glob("*.jpg"))[0]
    (tmp_path / "Cu").mkdir()
    (tmp_path / "Ci").mkdir()
    shutil.copy(src, tmp_path / "Cu" / "upright.jpg")
    shutil.copy(other, tmp_path / "Ci" / "other.jpg")
    with Image.open(src) as img:
        exif = img.getexif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to view": store the pixels turned the other way
        img.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "Cu" / "sideways.jpg", quality=95, exif=exif)
    samples = scan_folder(tmp_path)
    groups = dict(zip([s.key for s in samples], photo_groups(tmp_path, samples)))
    assert groups["Cu/upright.jpg"] == groups["Cu/sideways.jpg"] != groups["Ci/other.jpg"]
    report = audit(tmp_path, progress=False, cache=False)  # the audit agrees with the split's grouper
    assert [sorted(g.files) for g in report.near_duplicates + report.duplicates] == [["Cu/sideways.jpg", "Cu/upright.jpg"]]
