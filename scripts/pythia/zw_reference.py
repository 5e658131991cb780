#!/usr/bin/env python3
"""A paired pp -> ZW -> (l- l+)(q q') sample from Pythia 8 and FastJet, written as Refold's
sample folder (docs/collider.md): the reference chain of issue #21 item 2.

    python3 scripts/pythia/zw_reference.py --events 10000 --seed 1 --out DIR [--isr] [--card CARD]

Chain (docs/realism.md, "Pythia reference chain"):
- Pythia 8 at sqrt(s) = 13 TeV, WeakDoubleBoson:ffbar2ZW with Z -> e+ e- or mu+ mu- (50/50 by the
  branching ratios, as Refold's generator) and W -> hadrons (d, u, s, c, b); Breit-Wigner masses at
  Refold's m_Z, m_W within Refold's window of 15 widths; FSR (QCD and QED) and hadronisation on,
  MPI off (the thesis switches off the underlying event), ISR off or on (--isr). Without ISR the
  primordial kT is off too, so the parton level is the lab-frame hard event as in Refold's zw.
- Parton level x_p: the hard-process leptons and the two W-decay quarks of the process record
  (before any shower), columns l-, l+, q1, q2 x (pT, eta, phi), quarks by pT.
- Detector level: anti-kT R (the card's radius, 0.6) on the visible final state within the
  calorimeter's |eta| reach, without the Z leptons and everything they radiated, neutrinos and
  muons (a calorimeter jet); the card's jet measurement and selection (detector_card.py). The
  leptons are the bare final-state Z leptons (their photons are lost, as in a Delphes-like
  detector) measured with the card's efficiencies and resolutions.
- Selection as Refold's: both leptons measured; without ISR exactly two jets, both matched to the
  quarks within the card's match_radius by the assignment with the smaller sum of Delta R, jets
  and quarks each ordered by pT; with ISR at least two jets, the leading maximum_jets kept,
  zero-padded, and njets.npy = min(jets, maximum_jets).

Seeded: Pythia's Random:seed and numpy's PCG64 for the detector take --seed; the same seed and
package versions give the same files.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_card import DEFAULT_CARD, REPOSITORY, DetectorCard  # noqa: E402

try:  # the pythia8mc wheel names its module pythia8mc (8.317), older builds pythia8
    import pythia8mc as pythia8
except ImportError:
    import pythia8
import fastjet  # noqa: E402

# Refold's masses and generator window (DESIGN.md, ZWParameters: m +- 15 Gamma).
M_Z, GAMMA_Z, M_W, GAMMA_W, WINDOW = 91.1876, 2.4952, 80.379, 2.085, 15.0
NEUTRINOS_AND_MUONS = {12, 13, 14, 16}

PARTON_COLUMNS = [f"{v}_{o}" for o in ["l-", "l+", "q1", "q2"] for v in ["pT", "eta", "phi"]]


def detector_columns(jets):
    return [f"{v}_{o}" for o in ["l-", "l+"] + [f"j{k}" for k in range(1, jets + 1)] for v in ["pT", "eta", "phi", "m"]]


def pythia_settings(seed, isr):
    settings = [
        "Beams:eCM = 13000.",
        "WeakDoubleBoson:ffbar2ZW = on",
        "23:onMode = off", "23:onIfAny = 11 13",
        "24:onMode = off", "24:onIfAny = 1 2 3 4 5",
        f"23:m0 = {M_Z}", f"23:mMin = {M_Z - WINDOW * GAMMA_Z:.4f}", f"23:mMax = {M_Z + WINDOW * GAMMA_Z:.4f}",
        f"24:m0 = {M_W}", f"24:mMin = {M_W - WINDOW * GAMMA_W:.4f}", f"24:mMax = {M_W + WINDOW * GAMMA_W:.4f}",
        "PartonLevel:MPI = off",
        f"PartonLevel:ISR = {'on' if isr else 'off'}",
        "PartonLevel:FSR = on",
        "HadronLevel:all = on",
        "Random:setSeed = on", f"Random:seed = {seed}",
    ]
    if not isr:
        settings.append("BeamRemnants:primordialKT = off")
    return settings


def start_pythia(settings):
    pythia = pythia8.Pythia("", False)
    for line in settings + ["Print:quiet = on", "Next:numberCount = 0"]:
        if not pythia.readString(line):
            raise SystemExit(f"zw_reference: Pythia refused the setting '{line}'")
    if not pythia.init():
        raise SystemExit("zw_reference: Pythia initialisation failed")
    return pythia


def hard_process(process):
    """(l-, l+, [q1, q2], flavour) as (pT, eta, phi) from the process record: the outgoing
    (status 23) leptons of the Z and quarks of the W, quarks by pT."""
    leptons, quarks = {}, []
    for i in range(process.size()):
        p = process[i]
        if p.status() != 23:
            continue
        kinematics = (p.pT(), p.eta(), p.phi())
        if p.idAbs() in (11, 13):
            leptons[p.id() > 0] = (kinematics, p.idAbs())
        elif p.idAbs() <= 5:
            quarks.append(kinematics)
    assert len(leptons) == 2 and len(quarks) == 2, "process record without two Z leptons and two W quarks"
    quarks.sort(key=lambda q: -q[0])
    return leptons[True][0], leptons[False][0], quarks, leptons[True][1]


def final_state(event, eta_max):
    """The bare Z leptons (l-, l+) as (pT, eta, phi) and the jet constituents: visible final-state
    particles within |eta| <= eta_max that do not descend from a Z lepton, neither neutrinos nor
    muons."""
    leptons, radiated = {}, set()
    for i in range(event.size()):
        p = event[i]
        if p.statusAbs() == 23 and p.idAbs() in (11, 13):
            bare = event[p.iBotCopyId()]
            leptons[p.id() > 0] = (bare.pT(), bare.eta(), bare.phi())
            radiated.update(p.daughterListRecursive())
            radiated.add(i)
    constituents = []
    for i in range(event.size()):
        p = event[i]
        if p.isFinal() and i not in radiated and p.idAbs() not in NEUTRINOS_AND_MUONS and abs(p.eta()) <= eta_max:
            constituents.append(fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e()))
    return leptons[True], leptons[False], constituents


def write_sample(out, parton, detector, njets, flavours, meta):
    out.mkdir(parents=True, exist_ok=True)
    files = {"parton": "parton.npy", "detector": "detector.npy", "lepton_flavour": "lepton_flavour.npy"}
    np.save(out / "parton.npy", np.asarray(parton, dtype="<f8").reshape(len(flavours), -1))
    np.save(out / "detector.npy", np.asarray(detector, dtype="<f8").reshape(len(flavours), -1))
    np.save(out / "lepton_flavour.npy", np.asarray(flavours, dtype="<i4"))
    if njets is not None:
        np.save(out / "njets.npy", np.asarray(njets, dtype="<i4"))
        files["njets"] = "njets.npy"
    meta["files"] = files
    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, required=True, help="accepted events to write")
    parser.add_argument("--seed", type=int, default=1, help="Pythia's Random:seed (1...900000000) and the detector's")
    parser.add_argument("--out", type=Path, required=True, help="the sample folder (new or empty unless --force)")
    parser.add_argument("--isr", action="store_true", help="initial-state radiation on (the zw-isr format)")
    parser.add_argument("--card", type=Path, default=DEFAULT_CARD, help="Refold detector card (default Toys/detector-atlas.toml)")
    parser.add_argument("--force", action="store_true", help="write into an existing non-empty --out")
    args = parser.parse_args()
    if args.events <= 0:
        parser.error(f"--events: expected a positive count, got {args.events}")
    if not 1 <= args.seed <= 900_000_000:
        parser.error(f"--seed: expected 1...900000000 (Pythia's range; 0 would seed from the clock), got {args.seed}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())) and not args.force:
        parser.error(f"--out {args.out} exists and is not empty (use --force to write into it)")

    try:
        card = DetectorCard(args.card)
    except (OSError, ValueError) as error:  # tomllib.TOMLDecodeError is a ValueError
        parser.error(f"--card: {error}")
    if card.ignored:
        print(f"zw_reference: Pythia simulates what these card keys stand for; ignored: {', '.join(card.ignored)}",
              file=sys.stderr)
    settings = pythia_settings(args.seed, args.isr)
    pythia = start_pythia(settings)
    rng = np.random.Generator(np.random.PCG64(args.seed))
    radius, slots = card.jet["radius"], (card.jet["maximum_jets"] if args.isr else 2)
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    # Clusters below the threshold can pass it after smearing and the energy scale (up to x1.2 at 20 GeV).
    cluster_minimum_pt = 0.5 * card.jet["minimum_pT"]

    parton, detector, njets, flavours = [], [], [], []
    trials = failures = 0
    start = time.monotonic()
    while len(flavours) < args.events:
        if not pythia.next():
            failures += 1
            if failures > 100 + args.events // 100:
                raise SystemExit(f"zw_reference: Pythia failed {failures} times")
            continue
        trials += 1
        lm, lp, quarks, flavour = hard_process(pythia.process)
        bare_lm, bare_lp, constituents = final_state(pythia.event, card.constituent_eta_max)
        measured = [card.lepton(*lepton, flavour, rng) for lepton in (bare_lm, bare_lp)]
        if None in measured:
            continue
        clusters = [(j.e(), j.pt(), j.eta(), j.phi_std(), j.m())
                    for j in fastjet.ClusterSequence(constituents, definition).inclusive_jets(cluster_minimum_pt)]
        jets = card.selected_jets(clusters, rng)
        if len(jets) < 2 or (not args.isr and not card.match(quarks, jets)):
            continue
        parton.extend([*lm, *lp, *quarks[0], *quarks[1]])
        row = [x for obj in measured + jets[:slots] for x in obj]
        detector.extend(row + [0.0] * (4 * (2 + slots) - len(row)))
        njets.append(min(len(jets), slots))
        flavours.append(flavour)
        if len(flavours) % max(args.events // 10, 1) == 0:
            print(f"zw_reference: {len(flavours)}/{args.events} events, {len(flavours) / (time.monotonic() - start):.1f}/s",
                  file=sys.stderr)
    seconds = time.monotonic() - start

    meta = {
        "generator": "zw-isr" if args.isr else "zw", "level": "paired", "seed": args.seed, "events": args.events,
        "units": "GeV", "selection_efficiency": args.events / trials,
        "parameters": {"sqrt_s": 13000.0, "m_Z": M_Z, "m_W": M_W, "mass_window_widths": WINDOW, **card.record()},
        "columns": {"parton": PARTON_COLUMNS, "detector": detector_columns(slots)},
        "source": "pythia8",
        "chain": {
            "pythia8": f"{pythia.parm('Pythia:versionNumber'):.3f}", "pythia8mc": _version("pythia8mc"),
            "fastjet": fastjet.__version__, "numpy": np.__version__, "seed": args.seed,
            "pythia_settings": settings, "jet_algorithm": f"anti-kT R = {radius}",
            "detector_card": _card_name(args.card), "card_keys_ignored": card.ignored,
            "leptons": "bare (final-state Z leptons, their photons lost)",
            "jet_constituents": f"visible final state within |eta| <= {card.constituent_eta_max}, without the Z leptons and their radiation, neutrinos, muons",
            "matching": "none (ISR)" if args.isr else f"exactly two jets, both within Delta R < {card.jet['match_radius']} of the quarks",
            "pythia_failures": failures,
        },
    }
    write_sample(args.out, parton, detector, njets if args.isr else None, flavours, meta)
    print(f"zw_reference: wrote {args.events} events to {args.out} (selection efficiency {args.events / trials:.4f}, "
          f"{seconds:.1f} s, {args.events / seconds:.1f} events/s)")


def _card_name(path):
    """The card's path relative to the repository when inside it (meta.json does not depend on the cwd)."""
    path = path.resolve()
    return str(path.relative_to(REPOSITORY)) if path.is_relative_to(REPOSITORY) else str(path)


def _version(distribution):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    main()
