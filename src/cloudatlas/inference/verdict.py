"""The verdict rule every client applies: ``cloud``, ``clear_sky`` or ``not_sky``.

Two scores come out of the model file: ``cloud_score`` (is it a sky photo at all) and
``clear_sky_score`` (is that sky clear). A photo below the sky gate's threshold is not a sky
photo, whatever the second score says; a sky photo at or above the clear-sky threshold has no
cloud to name, unless the genus model is sure it sees a contrail (a thin line on a blue sky is
the clear-sky gate's likeliest mistake); everything else is a cloud photo and its genus is the
answer.
"""
from __future__ import annotations

VERDICTS = ("cloud", "clear_sky", "not_sky")


def verdict_of(cloud_score: float | None, clear_score: float | None, gate_threshold: float | None,
               clear_threshold: float | None, sure_of_a_contrail: bool = False) -> str:
    if cloud_score is not None and gate_threshold is not None and cloud_score < gate_threshold:
        return "not_sky"
    if clear_score is not None and clear_threshold is not None and clear_score >= clear_threshold \
            and not sure_of_a_contrail:
        return "clear_sky"
    return "cloud"
