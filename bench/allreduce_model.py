#!/usr/bin/env python3
"""The cost of data-parallel training at scale (docs/distributed.md), from measured figures:
each step all-reduces every trainable parameter's gradient (f32), which a ring all-reduce does
in 2(N-1) steps moving 2(N-1)/N of the bytes in and out of every rank. With the training rate r
of one node (samples/s, `smelt bench PRESET`) and a global batch B split over N ranks, a step
computes for B / (N r) seconds and then all-reduces (smelt does not overlap the two), so
scaling stops paying near N* = 1 + B * bandwidth / (2 * bytes * r), where the all-reduce takes
as long as the computation.

usage: bench/allreduce_model.py [--batch B] [--latency-us A] PRESET=PARAMS:RATE ...
       (without presets: the figures measured in bench/results/mpi-2026-12-07)
"""
import argparse

MEASURED = {  # preset: (trainable params, training samples/s of one 2-core node at batch 32)
    "small": (12_586_470, 61.1),
    "ctc_small": (9_642_597, 66.2),
    "medium": (20_477_126, 33.9),
    "large": (29_059_254, 24.0),
}
LINKS = {"10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}  # bytes/s
RANKS = (2, 8, 64)


def ring_seconds(nbytes, ranks, bandwidth, latency):
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + 2 * (ranks - 1) * latency


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32, help="global batch size (default 32)")
    ap.add_argument("--latency-us", type=float, default=5.0, help="per message latency (default 5 us)")
    ap.add_argument("presets", nargs="*", help="NAME=PARAMS:SAMPLES_PER_S")
    a = ap.parse_args()
    presets = dict(MEASURED)
    if a.presets:
        presets = {}
        for p in a.presets:
            name, rest = p.split("=")
            params, rate = rest.split(":")
            presets[name] = (int(params), float(rate))
    lat = a.latency_us * 1e-6
    print(f"global batch {a.batch}; ring all-reduce, {a.latency_us:g} us a message; compute = batch / (ranks x node rate)\n")
    head = "| preset | MB a step | link | " + " | ".join(f"{n} ranks: all-reduce / compute ms" for n in RANKS) + " | N* |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, (params, rate) in presets.items():
        nbytes = 4 * params
        for link, bw in LINKS.items():
            cells = []
            for n in RANKS:
                comm = ring_seconds(nbytes, n, bw, lat) * 1e3
                compute = a.batch / (n * rate) * 1e3
                cells.append(f"{comm:.1f} / {compute:.1f}" if n <= a.batch else f"{comm:.1f} / (batch < ranks)")
            stop = 1 + a.batch * bw / (2 * nbytes * rate)
            print(f"| {name} | {nbytes / 1e6:.1f} | {link} | " + " | ".join(cells) + f" | {stop:.1f} |")


if __name__ == "__main__":
    main()
