#!/usr/bin/env python3
"""The augmentation check of issue 16: the pT,j1 tail of a generated sample at augmentation a
(`refold sample --augmentation a` on a generator trained with `--condition-on augmentation`; its
Delta R weights in weights.npy) against a truth test sample reweighted by
w_a = 1 + a ((pT,j1 - 15 GeV) / 100 GeV)^2. Both normalised to unit total weight; per bin of the
tail (pT,j1 in [60, 200) GeV, five bins) the ratio generated / truth and the pull with the
statistical errors of both samples (sqrt(sum w^2) per bin), the chi2 over the tail bins, and the
band: the truth's reweighting from a = 0 to 30 in the same bins, for scale.

usage: augmentation_tail.py TRUTH_DIR a=GEN_DIR [a=GEN_DIR ...]
"""
import math
import sys

import numpy as np

EDGES = np.array([60, 80, 100, 130, 160, 200], dtype=float)


def leading_pt(folder):
    x = np.load(f"{folder}/events.npy")
    return x[:, 6]  # columns pT, eta, phi of mu-, mu+, j1, ...: pT_j1 is column 6


def tail(pt, w):
    h, _ = np.histogram(pt, EDGES, weights=w)
    e2, _ = np.histogram(pt, EDGES, weights=w * w)
    return h / w.sum(), np.sqrt(e2) / w.sum()


truth = leading_pt(sys.argv[1])
u2 = ((truth - 15) / 100) ** 2
t0, _ = tail(truth, np.ones_like(truth))
t30, _ = tail(truth, 1 + 30 * u2)
print("tail bins [GeV]:", ", ".join(f"[{EDGES[i]:.0f}, {EDGES[i + 1]:.0f})" for i in range(len(EDGES) - 1)))
print("band a=30 / a=0 of the truth:", " ".join(f"{r:.2f}" for r in t30 / t0))
for arg in sys.argv[2:]:
    a, folder = arg.split("=", 1)
    a = float(a)
    g = leading_pt(folder)
    gw = np.load(f"{folder}/weights.npy")
    ht, et = tail(truth, 1 + a * u2)
    hg, eg = tail(g, gw)
    pulls = (hg - ht) / np.sqrt(et ** 2 + eg ** 2)
    chi2 = float(np.sum(pulls ** 2))
    print(f"a = {a:4.1f}: generated / truth " + " ".join(f"{r:.2f}" for r in hg / ht)
          + "; pulls " + " ".join(f"{p:+.1f}" for p in pulls) + f"; chi2 {chi2:.1f} / {len(pulls)}"
          + f"; tail fraction generated {hg.sum():.4f} truth {ht.sum():.4f} +- {math.sqrt(np.sum(et ** 2)):.4f}")
