import pytest

from cloudatlas.labels import GENERA, canonical_label, genus_name


@pytest.mark.parametrize("folder, code", [
    ("Cu", "Cu"), ("cu", "Cu"), ("CU", "Cu"), ("cumulus", "Cu"), ("Cumulus", "Cu"),
    ("cumulonimbus", "Cb"), ("Alto-Cumulus", "Ac"), ("cirrus", "Ci"), ("contrails", "Ct"),
    ("nimbostratus", "Ns"), ("STRATUS", "St"),
])
def test_folder_names_map_to_genus_codes(folder, code):
    assert canonical_label(folder) == code


def test_unknown_labels_are_kept_for_custom_classes():
    assert canonical_label("fog") == "fog"
    assert genus_name("fog") == "fog"


def test_every_genus_has_a_description():
    assert len(GENERA) == 11
    for g in GENERA.values():
        assert g.name and g.level and g.look and g.precipitation
