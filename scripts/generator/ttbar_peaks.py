#!/usr/bin/env python3
"""m_t = m(b q1 q2) and m_W = m(q1 q2) peaks (both tops, both W's) of ttbar samples from
`refold generate ttbar` or `refold sample` on a ttbar generator: median and interquartile range
with their statistical errors (sigma(median) <= IQR / sqrt N, sigma(IQR) = pi IQR / (2 sqrt N)
for a Breit-Wigner; see PeakShape in Sources/Unfolders/TTbarGenerator.swift), and the fraction of
masses inside the truth's +-5 Gamma window.

usage: ttbar_peaks.py NAME=DIR [NAME=DIR ...]   (events.npy columns pT, eta, phi of b q1 q2 bbar q3 q4)
"""
import math
import sys

import numpy as np


def masses(folder):
    x = np.load(f"{folder}/events.npy").astype(np.float64)
    pt, eta, phi = x[:, 0::3], x[:, 1::3], x[:, 2::3]
    px, py, pz, e = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)

    def m(idx):
        s = [v[:, idx].sum(axis=1) for v in (e, px, py, pz)]
        return np.sqrt(np.maximum(s[0] ** 2 - s[1] ** 2 - s[2] ** 2 - s[3] ** 2, 0))

    return np.concatenate([m([0, 1, 2]), m([3, 4, 5])]), np.concatenate([m([1, 2]), m([4, 5])])


def peak(v):
    q1, q2, q3 = np.percentile(v, [25, 50, 75])
    n = len(v)
    iqr = q3 - q1
    return q2, iqr / math.sqrt(n), iqr, math.pi / 2 * iqr / math.sqrt(n)


print("sample        | m_t median      | m_t IQR        | in 172.5+-7.1 | m_W median      | m_W IQR        | in 80.38+-10.4")
for arg in sys.argv[1:]:
    name, folder = arg.split("=", 1)
    mt, mw = masses(folder)
    a, b = peak(mt), peak(mw)
    fin_t = np.mean(np.abs(mt - 172.5) < 5 * 1.42)
    fin_w = np.mean(np.abs(mw - 80.379) < 5 * 2.085)
    print(f"{name:13s} | {a[0]:7.2f} ± {a[1]:5.2f} | {a[2]:6.2f} ± {a[3]:5.2f} | {fin_t:13.3f} | {b[0]:7.2f} ± {b[1]:5.2f} | {b[2]:6.2f} ± {b[3]:5.2f} | {fin_w:.3f}")
