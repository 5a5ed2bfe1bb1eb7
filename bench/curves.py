#!/usr/bin/env python3
"""curves.py: validation curves of several runs side by side, from their metrics.jsonl files.

    bench/curves.py [--every N] [--targets 85,70] NAME=runs/a/metrics.jsonl NAME=runs/b/metrics.jsonl ...

Prints a Markdown table of character % / sequence % per epoch (every N-th epoch, and the last),
then per run: the first epoch at or above the character and sequence targets, the best epoch
(by sequence accuracy), the last, and, against the first run, the mean difference in character
accuracy over the epochs all runs have. The figures docs/recipes.md and docs/config.md quote are
read off this table (no plotting library needed)."""
import argparse
import json
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "val_char_acc" in r and "epoch" in r:
                rows[int(r["epoch"])] = r
    return rows


def cell(r):
    return f"{100 * r['val_char_acc']:.1f} / {100 * r['val_seq_acc']:.1f}" if r else ""


def first_at(rows, key, target):
    for e in sorted(rows):
        if 100 * rows[e][key] >= target:
            return f"epoch {e}"
    return "no epoch"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="NAME=PATH to a metrics.jsonl")
    ap.add_argument("--every", type=int, default=1, help="print every N-th epoch (and the last)")
    ap.add_argument("--targets", default="85,70", help="character and sequence accuracy targets, in %%")
    a = ap.parse_args()
    runs = []
    for spec in a.runs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = spec, spec
        try:
            rows = load(path)
        except (OSError, ValueError) as e:
            sys.exit(f"curves.py: {path}: {e}")
        if not rows:
            sys.exit(f"curves.py: {path}: no epoch with validation metrics")
        runs.append((name, rows))
    char_t, seq_t = (float(x) for x in a.targets.split(","))
    last = max(max(rows) for _, rows in runs)
    print("| epoch | " + " | ".join(f"{n} char / seq %" for n, _ in runs) + " |")
    print("|---:|" + "---|" * len(runs))
    for e in range(1, last + 1):
        if e % a.every and e != last and e != 1:
            continue
        print(f"| {e} | " + " | ".join(cell(rows.get(e)) for _, rows in runs) + " |")
    print()
    common = sorted(set.intersection(*(set(rows) for _, rows in runs)))
    base = runs[0][1]
    for name, rows in runs:
        best = max(rows, key=lambda e: (rows[e]["val_seq_acc"], rows[e]["val_char_acc"]))
        end = max(rows)
        diff = sum(100 * (rows[e]["val_char_acc"] - base[e]["val_char_acc"]) for e in common) / len(common)
        print(f"- {name}: {char_t:g}% characters at {first_at(rows, 'val_char_acc', char_t)}, "
              f"{seq_t:g}% sequences at {first_at(rows, 'val_seq_acc', seq_t)}; best epoch {best} ({cell(rows[best])}); "
              f"last epoch {end} ({cell(rows[end])}); characters {diff:+.2f} points against {runs[0][0]} "
              f"on average over epochs {common[0]}-{common[-1]}")


if __name__ == "__main__":
    main()
