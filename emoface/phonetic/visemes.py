"""ARPAbet phones -> visemes -> ARKit mouth/jaw targets, with how strongly each holds its shape.

Targets use canonical (Live Link / ARKit) names; Left/Right pairs are written once with a trailing '*'.
lips/jaw: dominance of the segment over its neighbours for the lip and jaw groups (Cohen-Massaro style);
reach: how far (s) its influence extends past the segment's core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emoface.animation import expand_sides


@dataclass(frozen=True)
class Viseme:
    name: str
    targets: dict = field(default_factory=dict)
    lips: float = 1.0
    jaw: float = 1.0
    reach: float = 0.06

    @property
    def curves(self) -> dict:
        """Targets with each 'Name*' pair written out as NameLeft and NameRight."""
        return expand_sides(self.targets)


VISEMES = {v.name: v for v in [
    Viseme("sil", {}, lips=0.6, jaw=0.6, reach=0.08),
    Viseme("PP", {"JawOpen": 0.05, "MouthClose": 0.05, "MouthPress*": 0.2, "MouthRollLower": 0.08,
                  "MouthRollUpper": 0.05}, lips=3.0, jaw=2.0, reach=0.04),
    Viseme("FF", {"JawOpen": 0.08, "MouthRollLower": 0.55, "MouthUpperUp*": 0.22, "MouthShrugUpper": 0.1},
           lips=3.0, jaw=2.0, reach=0.04),
    Viseme("TH", {"JawOpen": 0.16, "TongueOut": 0.25, "MouthLowerDown*": 0.12}, lips=1.0, jaw=1.5, reach=0.05),
    Viseme("DD", {"JawOpen": 0.14, "MouthLowerDown*": 0.1, "MouthStretch*": 0.1}, lips=0.5, jaw=1.0, reach=0.04),
    Viseme("kk", {"JawOpen": 0.2, "MouthStretch*": 0.08}, lips=0.3, jaw=0.8, reach=0.04),
    Viseme("CH", {"JawOpen": 0.12, "MouthFunnel": 0.45, "MouthPucker": 0.25, "MouthUpperUp*": 0.18,
                  "MouthLowerDown*": 0.18}, lips=4.0, jaw=1.5, reach=0.06),
    Viseme("SS", {"JawOpen": 0.07, "MouthStretch*": 0.25, "MouthLowerDown*": 0.08, "MouthUpperUp*": 0.08,
                  "MouthSmile*": 0.08}, lips=2.0, jaw=2.0, reach=0.05),
    Viseme("nn", {"JawOpen": 0.15, "MouthLowerDown*": 0.05}, lips=0.4, jaw=0.8, reach=0.04),
    Viseme("RR", {"JawOpen": 0.14, "MouthFunnel": 0.25, "MouthPucker": 0.3}, lips=2.5, jaw=1.0, reach=0.06),
    Viseme("WW", {"JawOpen": 0.1, "MouthPucker": 0.8, "MouthFunnel": 0.25}, lips=5.0, jaw=1.5, reach=0.07),
    Viseme("YY", {"JawOpen": 0.12, "MouthStretch*": 0.3, "MouthSmile*": 0.1}, lips=1.5, jaw=1.0, reach=0.05),
    Viseme("HH", {"JawOpen": 0.3}, lips=0.1, jaw=0.2, reach=0.03),
    # vowels: jaw follows vowel height; rounded vowels pucker/funnel; spread vowels stretch
    Viseme("AA", {"JawOpen": 0.62, "MouthLowerDown*": 0.25, "MouthUpperUp*": 0.1}, lips=1.0, jaw=3.0, reach=0.08),
    Viseme("AE", {"JawOpen": 0.5, "MouthStretch*": 0.25, "MouthLowerDown*": 0.25, "MouthUpperUp*": 0.15},
           lips=1.0, jaw=3.0, reach=0.08),
    Viseme("AH", {"JawOpen": 0.45, "MouthLowerDown*": 0.15}, lips=0.8, jaw=2.5, reach=0.08),
    Viseme("AO", {"JawOpen": 0.5, "MouthFunnel": 0.35, "MouthPucker": 0.1}, lips=1.5, jaw=3.0, reach=0.08),
    Viseme("EH", {"JawOpen": 0.35, "MouthStretch*": 0.2, "MouthLowerDown*": 0.15}, lips=1.0, jaw=2.5, reach=0.08),
    Viseme("ER", {"JawOpen": 0.2, "MouthFunnel": 0.3, "MouthPucker": 0.25}, lips=2.0, jaw=2.0, reach=0.08),
    Viseme("IH", {"JawOpen": 0.2, "MouthStretch*": 0.25, "MouthSmile*": 0.1}, lips=1.0, jaw=2.0, reach=0.07),
    Viseme("IY", {"JawOpen": 0.12, "MouthStretch*": 0.35, "MouthSmile*": 0.2}, lips=1.5, jaw=2.0, reach=0.07),
    Viseme("UH", {"JawOpen": 0.22, "MouthFunnel": 0.25, "MouthPucker": 0.35}, lips=2.0, jaw=2.0, reach=0.07),
    Viseme("UW", {"JawOpen": 0.12, "MouthPucker": 0.75, "MouthFunnel": 0.3}, lips=3.0, jaw=2.0, reach=0.08),
    Viseme("OW", {"JawOpen": 0.38, "MouthFunnel": 0.45, "MouthPucker": 0.3}, lips=2.0, jaw=2.5, reach=0.08),
]}

PHONE_VISEMES = {
    "SIL": "sil", "P": "PP", "B": "PP", "M": "PP", "F": "FF", "V": "FF", "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD", "K": "kk", "G": "kk", "NG": "kk", "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS", "N": "nn", "L": "nn", "R": "RR", "W": "WW", "Y": "YY", "HH": "HH",
    "AA": "AA", "AE": "AE", "AH": "AH", "AO": "AO", "EH": "EH", "ER": "ER", "IH": "IH", "IY": "IY",
    "UH": "UH", "UW": "UW", "OW": "OW",
}
# Diphthongs glide from one vowel shape to another: (first, second, share of the first).
DIPHTHONGS = {"AY": ("AA", "IY", 0.6), "AW": ("AA", "UW", 0.6), "EY": ("EH", "IY", 0.6),
              "OY": ("AO", "IY", 0.55), "OW": ("OW", "UW", 0.7)}
BILABIALS = frozenset({"P", "B", "M"})
PHONES = tuple(sorted(set(PHONE_VISEMES) | set(DIPHTHONGS)))  # the phone inventory (classes the network learns)
LABIODENTALS = frozenset({"F", "V"})
VOWELS = frozenset(DIPHTHONGS) | {"AA", "AE", "AH", "AO", "EH", "ER", "IH", "IY", "UH", "UW"}
JAW_CURVES = ("JawOpen", "TongueOut")
CURVES = tuple(sorted(set().union(*(v.curves for v in VISEMES.values()))))


def viseme_of(phone: str) -> Viseme:
    return VISEMES[PHONE_VISEMES.get(phone, "sil")]
