"""Cloud genera: codes, names, aliases and short field-guide descriptions.

Torch-free on purpose: the data loaders, the inference API and the web app all use it.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Genus:
    code: str
    name: str
    level: str
    look: str
    precipitation: str
    weather: str = ""  # what this cloud usually tells of the weather to come, in plain words

    def to_dict(self) -> dict:
        return asdict(self)


GENERA: dict[str, Genus] = {
    g.code: g
    for g in (
        Genus("Ac", "altocumulus", "middle (2-7 km)",
              "White or grey patches, rolls or rounded masses, often in rows; each element "
              "about the size of a thumbnail at arm's length.",
              "Rarely; a sign that weather may change within a day.",
              "If it shows on a warm, humid morning, thunderstorms may come later in the day; "
              "otherwise the weather often changes within a day."),
        Genus("As", "altostratus", "middle (2-7 km)",
              "A grey or bluish sheet covering the sky; the sun shows as through ground glass, "
              "with no halo.",
              "Light, continuous rain or snow is possible, often before a warm front.",
              "A front is near: steady rain or snow often follows within a few hours."),
        Genus("Cb", "cumulonimbus", "low base, towering to 12+ km",
              "A huge, dense tower with a dark base, often topped by a flat anvil.",
              "Heavy showers, hail, lightning and gusts: the thunderstorm cloud.",
              "A storm is close: heavy rain, hail, lightning and sudden gusts, often within the hour. Find shelter."),
        Genus("Cc", "cirrocumulus", "high (5-13 km)",
              "Small white flakes or ripples in fine rows, a 'mackerel sky', without shading.",
              "No.",
              "Fair weather for now; a spreading mackerel sky can mean a change within a day."),
        Genus("Ci", "cirrus", "high (5-13 km)",
              "Delicate white filaments, hooks or feathery streaks of ice crystals.",
              "No; thickening cirrus can announce a front.",
              "Fair weather for now. Cirrus that spreads and thickens can mean a front within a day or two."),
        Genus("Cs", "cirrostratus", "high (5-13 km)",
              "A thin, whitish veil over much of the sky, often making a halo around the sun "
              "or moon.",
              "No, but it often comes a day before rain.",
              "Cirrostratus thickening after cirrus: a front, with rain, often within about a day."),
        Genus("Ct", "contrail", "high (8-12 km)",
              "Straight white lines left by aircraft; they may spread into cirrus-like sheets.",
              "No.",
              "Trails that stay and spread mean moist air high up, which can come before a change; "
              "trails that vanish fast mean dry air aloft."),
        Genus("Cu", "cumulus", "low (below 2 km)",
              "Detached, puffy clouds with flat bases and sharp cauliflower tops.",
              "Usually not; towering cumulus can grow into showers.",
              "Fair weather while they stay small. If they grow tall by midday, showers may follow in the afternoon."),
        Genus("Ns", "nimbostratus", "low to middle, thick",
              "A dark grey, featureless layer thick enough to hide the sun completely.",
              "Yes: steady, prolonged rain or snow.",
              "Rain or snow now, steady and lasting for hours."),
        Genus("Sc", "stratocumulus", "low (below 2 km)",
              "Grey or whitish lumpy patches or rolls with gaps of blue, larger than "
              "altocumulus elements.",
              "Seldom more than light drizzle.",
              "Mostly dry, grey weather with little change; light drizzle at most."),
        Genus("St", "stratus", "low (near the ground to 2 km)",
              "A uniform grey layer, like fog that does not touch the ground.",
              "Drizzle at most.",
              "Dull, damp and calm; it often lifts or thins later in the day."),
    )
}

# Level first: an answer is sure of the level long before it is sure of the genus. Contrails
# are high; nimbostratus is counted with the middle layers, where the WMO atlas files it.
LEVELS: dict[str, tuple[str, ...]] = {
    "high": ("Ci", "Cc", "Cs", "Ct"),
    "middle": ("Ac", "As", "Ns"),
    "low": ("Sc", "St", "Cu", "Cb"),
}
LEVEL_OF: dict[str, str] = {code: level for level, codes in LEVELS.items() for code in codes}

# The coarse sky types that meteorologists' data sets such as GCD label (a group of genera each).
COARSE_GROUPS: dict[str, tuple[str, ...]] = {
    "cumulus": ("Cu",),
    "altocumulus or cirrocumulus": ("Ac", "Cc"),
    "cirrus or cirrostratus": ("Ci", "Cs", "Ct"),
    "stratocumulus, stratus or altostratus": ("Sc", "St", "As"),
    "cumulonimbus or nimbostratus": ("Cb", "Ns"),
}

# Alternative spellings users file photos under; keys are normalised (see _normalise).
_ALIASES: dict[str, str] = {}
for _g in GENERA.values():
    _ALIASES[_g.code.lower()] = _g.code
    _ALIASES[_g.name] = _g.code
_ALIASES.update({"contrails": "Ct", "contrailcloud": "Ct", "cumulonimbuscloud": "Cb"})


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def canonical_label(folder_name: str) -> str:
    """Map a folder name to its genus code ('cumulus', 'CU', 'Cu' -> 'Cu').

    Names that are no known genus are kept as they are, so users can train on their own classes.
    """
    key = _normalise(folder_name)
    if key.endswith("s") and key[:-1] in _ALIASES and key not in _ALIASES:
        key = key[:-1]  # plurals: 'cirrus' is a genus, 'altocumulus' too, but 'stratuses'...
    return _ALIASES.get(key, folder_name)


def genus_name(label: str) -> str:
    """Human name for a label code; unknown labels name themselves."""
    genus = GENERA.get(label)
    return genus.name if genus else label
