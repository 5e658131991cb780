"""Refold's parametrised fast detector (Sources/Physics/FastDetector.swift) applied to
hadron-level objects: the leptons and the anti-kT jets of a Pythia 8 event.

The card is read with tomllib exactly as `DetectorCard.load` reads it: Toys/detector-atlas.toml
holds every default, and a card given by the user overrides key by key. Only the measurement
part of the card applies here (lepton efficiencies and resolutions, the calorimeter, the jet axis
smearing, the energy scale, the jet selection and matching). The card's realism keys stand in
for physics that Pythia simulates itself (photon radiation off the leptons, gluon radiation off
the quarks, out-of-cone and hadronisation response) and the Gamma-distributed jet mass stands in
for the mass that the hadron-level jet already has: those are not applied.
"""

import math
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_CARD = REPOSITORY / "Toys" / "detector-atlas.toml"

# Keys of the card that describe effects Pythia simulates; ignored here (see the module doc).
REALISM_KEYS = {
    "electron": ["photon_log"], "muon": ["photon_log"],
    "jet": ["out_of_cone_fraction", "out_of_cone_offset", "hadronisation_sigma"],
    "quark_radiation": ["sudakov_coefficient"],
}


def wrap_phi(phi):
    """phi in (-pi, pi]."""
    phi = math.fmod(phi, 2 * math.pi)
    if phi > math.pi:
        phi -= 2 * math.pi
    elif phi <= -math.pi:
        phi += 2 * math.pi
    return phi


def delta_r(eta1, phi1, eta2, phi2):
    return math.hypot(eta1 - eta2, wrap_phi(phi1 - phi2))


class DetectorCard:
    """The card's tables with Refold's defaults underneath."""

    def __init__(self, path=DEFAULT_CARD):
        self.path = Path(path)
        with open(DEFAULT_CARD, "rb") as f:
            card = tomllib.load(f)
        with open(self.path, "rb") as f:
            for table, keys in tomllib.load(f).items():
                unknown = set(keys) - set(card.get(table, {}))
                if table not in card or unknown:
                    raise ValueError(f"{self.path}: unknown key(s) {sorted(unknown) or [table]} in [{table}]")
                card[table].update(keys)
        self.electron, self.muon = card["electron"], card["muon"]
        self.calorimeter, self.jet = card["calorimeter"], card["jet"]
        self.ignored = sorted(f"{table}.{key}" for table, keys in REALISM_KEYS.items() for key in keys
                              if card[table][key] > 0)

    @property
    def constituent_eta_max(self):
        """The calorimeter's reach: particles beyond it do not enter the jets."""
        return max(self.calorimeter["eta_max"])

    def record(self):
        """The card numbers that meta.json records (the keys of `DetectorCard.record` that apply)."""
        j = self.jet
        return {"jet_minimum_pT": j["minimum_pT"], "jet_maximum_eta": j["maximum_eta"], "jet_radius": j["radius"],
                "jet_eta_sigma": j["eta_sigma"], "jet_phi_sigma": j["phi_sigma"], "maximum_jets": float(j["maximum_jets"])}

    def lepton(self, pt, eta, phi, flavour, rng):
        """(pT, eta, phi, m) of a measured lepton, or None if lost: pT above minimum_pT, the
        efficiency of its |eta| region, pT scaled by 1 + sigma N(0, 1) with
        sigma = sqrt(a^2 + pT^2 b^2); direction kept; mass the card's."""
        response = self.electron if flavour == 11 else self.muon
        region = next((i for i, edge in enumerate(response["eta_edges"]) if abs(eta) <= edge), None)
        if pt <= response["minimum_pT"] or region is None:
            return None
        if rng.random() >= response["efficiency"][region]:
            return None
        a, b = response["resolution_a"][region], response["resolution_b"][region]
        k = 1 + math.sqrt(a * a + pt * pt * b * b) * rng.standard_normal()
        if k <= 0:
            return None
        return (k * pt, eta, phi, response["mass"])

    def energy_resolution(self, energy, abs_eta):
        """sigma_E = sqrt((c E)^2 + s^2 E + n^2) in the calorimeter region of |eta| (the last beyond its edge)."""
        c = self.calorimeter
        i = next((i for i, edge in enumerate(c["eta_max"]) if abs_eta <= edge), len(c["eta_max"]) - 1)
        return math.sqrt((c["constant"][i] * energy) ** 2 + c["stochastic"][i] ** 2 * energy + c["noise"][i] ** 2)

    def energy_scale(self, pt, abs_eta):
        """sqrt((offset - slope |eta|)^2 / pT + 1), or 1 if apply_energy_scale is false."""
        if not self.jet["apply_energy_scale"]:
            return 1.0
        a = self.jet["energy_scale_offset"] - self.jet["energy_scale_slope"] * abs_eta
        return math.sqrt(a * a / pt + 1)

    def jet_measurement(self, e, pt, eta, phi, mass, rng):
        """(pT, eta, phi, m) of the measured jet from a hadron-level jet, as `FastDetector.jet`:
        axis smeared by (eta_sigma, phi_sigma), energy by the calorimeter term, the jet's own
        mass (at most half the smeared energy), then the energy scale. None if E <= 0."""
        j = self.jet
        eta_d = eta + j["eta_sigma"] * rng.standard_normal()
        phi_d = wrap_phi(phi + j["phi_sigma"] * rng.standard_normal())
        energy = e + self.energy_resolution(e, abs(eta)) * rng.standard_normal()
        if energy <= 0:
            return None
        m = min(max(mass, 0.0), 0.5 * energy)
        pt_d = math.sqrt(energy * energy - m * m) / math.cosh(eta_d)
        scale = self.energy_scale(pt_d, abs(eta_d))
        return (scale * pt_d, eta_d, phi_d, scale * m)

    def selected_jets(self, clusters, rng):
        """The measured jets (pT > minimum_pT, |eta| < maximum_eta) of hadron-level clusters
        (E, pT, eta, phi, m), ordered by pT."""
        jets = []
        for cluster in clusters:
            jet = self.jet_measurement(*cluster, rng)
            if jet is not None and jet[0] > self.jet["minimum_pT"] and abs(jet[1]) < self.jet["maximum_eta"]:
                jets.append(jet)
        return sorted(jets, key=lambda jet: -jet[0])

    def match(self, quarks, jets):
        """`FastDetector.match`: for two quarks and exactly two jets, the assignment with the
        smaller sum of Delta R; True if both Delta R < match_radius."""
        if len(jets) != 2:
            return False
        (q1, q2), (j1, j2) = quarks, jets
        straight = (delta_r(q1[1], q1[2], j1[1], j1[2]), delta_r(q2[1], q2[2], j2[1], j2[2]))
        crossed = (delta_r(q1[1], q1[2], j2[1], j2[2]), delta_r(q2[1], q2[2], j1[1], j1[2]))
        best = straight if sum(straight) <= sum(crossed) else crossed
        return max(best) < self.jet["match_radius"]
