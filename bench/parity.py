#!/usr/bin/env python3
"""Training parity with the PyTorch peer: the same network, recipe, initialisation scheme and data
on both sides, validation curves printed epoch by epoch, several seeds a side so that the
seed-to-seed noise is visible next to any difference between the two.

  bench/parity.py --preset ctc_small --preset small --seeds 1,2 --epochs 15     # digits set
  bench/parity.py --preset small --seeds 1 --epochs 50 --charset default --length 4-8 \
      --train-count 4000 --val-count 1000 --target-seq 10 --stop-at-target      # default set

Data: one generated set (`smelt data synth`, a labels.tsv folder) read by both sides. Recipe: the
peer's (../shared/peers/torch_train.py): Adam lr 1e-3, weight decay 1e-4 (L2), batch 32,
cross-entropy with label smoothing 0.05 (CTC for ctc_small), ReduceLROnPlateau on val_loss (factor
0.5, patience 10), gradient-norm clipping at 5, no augmentation, no dropout, no early stopping.
Both output layers have the preset's 36 symbols (the peer is given the generator's charset), and
both initialise as PyTorch does by default. Known difference: PyTorch's LSTM has two bias vectors
per gate set (b_ih + b_hh), smelt one.
Runs go to OUT/smelt/<preset>_s<seed>/metrics.jsonl and OUT/torch/<preset>_s<seed>.log; a second
invocation with the same OUT reuses finished runs (delete a run's files to redo it) and resumes
smelt's unfinished ones from their last checkpoint; the peer's start over (torch_train.py keeps no
checkpoint) unless --peer is bench/peer_resumable.py, the same loop with a checkpoint an epoch,
which goes on from its last one. --stop-at-target ends each training after the first epoch whose sequence
accuracy passes --target-seq (the question "which epoch passes 10%" needs no more). --jobs runs
that many trainings at once, each on --threads threads: keep jobs x threads <= cores, and the
machine otherwise idle if the wall times matter (the curves do not depend on load).
Needs Debian's python3-torch, python3-pil and python3-numpy for the peer."""
import argparse, json, os, re, signal, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"   # the generator's and the presets' 36
HEADS = {"ctc_small": "ctc", "small": "attention", "medium": "attention", "large": "attention"}
PEER_LINE = re.compile(r"epoch (\d+) val_loss (\S+) char_acc (\S+) seq_acc (\S+)")

CONFIG = """\
# Written by bench/parity.py: the peer's recipe (../shared/peers/torch_train.py) for smelt.
defaults:
  epochs: {epochs}
  batch_size: 32
  optimizer: adam
  learning_rate: 0.001
  weight_decay: 1.0e-4
  loss: {{type: cross_entropy, label_smoothing: 0.05}}
  scheduler: {{type: reduce_on_plateau, metric: val_loss, factor: 0.5, patience: 10}}
  early_stopping: false
  augmentation: false
  dropout: 0
  grad_clip: 5.0
  data: {{train: {train}, val: {val}}}
experiments:
{experiments}"""


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", action="append", choices=sorted(HEADS),
                    help="preset to compare (repeatable; default ctc_small and small)")
    ap.add_argument("--seeds", default="1,2", help="comma-separated seeds, run on both sides")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--charset", default="0123456789",
                    help="symbols of the generated set ('default': the generator's 36)")
    ap.add_argument("--length", default="4-6", help="label length range of the generated set")
    ap.add_argument("--train-count", type=int, default=4000)
    ap.add_argument("--val-count", type=int, default=500)
    ap.add_argument("--out", default="runs/parity")
    ap.add_argument("--smelt", default=os.path.join(ROOT, "build", "smelt"))
    ap.add_argument("--peer", default=os.path.join(ROOT, "..", "shared", "peers", "torch_train.py"))
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter with python3-torch")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once")
    ap.add_argument("--threads", type=int, default=1, help="threads per training")
    ap.add_argument("--only", choices=["smelt", "torch"], help="run one side only")
    ap.add_argument("--report", action="store_true", help="print the tables of finished epochs, run nothing")
    ap.add_argument("--target-seq", type=float, default=10.0,
                    help="report the first epoch whose sequence accuracy passes this (percent)")
    ap.add_argument("--stop-at-target", action="store_true",
                    help="stop each training after the first epoch that passes --target-seq")
    a = ap.parse_args()
    a.preset = a.preset or ["ctc_small", "small"]
    a.seeds = [int(s) for s in a.seeds.split(",") if s]
    if a.charset == "default":
        a.charset = DEFAULT_CHARSET
    a.out = os.path.abspath(a.out)
    return a


def make_data(a):
    """The generated train and validation folders, made once (`--reuse`)."""
    folders = {}
    for split, count, seed in (("train", a.train_count, 11), ("val", a.val_count, 12)):
        path = os.path.join(a.out, "data", split)
        subprocess.run([a.smelt, "data", "synth", "--out", path, "--count", str(count), "--seed",
                        str(seed), "--length", a.length, "--charset", a.charset, "--reuse", "--quiet"],
                       check=True)
        folders[split] = path
    return folders


def smelt_job(a, folders, preset, seed):
    name = f"{preset}_s{seed}"
    metrics = os.path.join(a.out, "smelt", name, "metrics.jsonl")
    if finished(a, smelt_curve(metrics)):
        return
    config = os.path.join(a.out, "smelt", name + ".yaml")
    loss = "ctc" if HEADS[preset] == "ctc" else "{type: cross_entropy, label_smoothing: 0.05}"
    with open(config, "w") as f:
        f.write(CONFIG.format(epochs=a.epochs, train=folders["train"], val=folders["val"],
                              experiments=f"  {name}: {{model: {preset}, loss: {loss}, seed: {seed}}}\n"))
    env = dict(os.environ, SMELT_THREADS=str(a.threads), OPENBLAS_NUM_THREADS="1",
               SMELT_PRESETS=os.path.join(ROOT, "presets"))
    # an interrupted run (a stopped session) continues from its last checkpoint
    start = "--resume" if smelt_curve(metrics) else "--overwrite"
    with open(os.path.join(a.out, "smelt", name + ".log"), "a") as log:
        proc = subprocess.Popen([a.smelt, "train", config, "--experiment", name, "--out",
                                 os.path.join(a.out, "smelt"), start], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        watch(a, proc, lambda: smelt_curve(metrics))


def torch_job(a, folders, preset, seed):
    log_path = os.path.join(a.out, "torch", f"{preset}_s{seed}.log")
    if finished(a, torch_curve(log_path)):
        return
    cmd = [a.python, a.peer, "--preset", preset, "--train", folders["train"], "--val", folders["val"],
           "--epochs", str(a.epochs), "--seed", str(seed), "--threads", str(a.threads),
           "--charset", DEFAULT_CHARSET]
    state = log_path + ".state.pt"
    resumable = os.path.basename(a.peer) == "peer_resumable.py"  # checkpoints every epoch
    if resumable:
        cmd += ["--state", state]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with open(log_path, "a" if resumable and os.path.exists(state) else "w") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        watch(a, proc, lambda: torch_curve(log_path))


def smelt_curve(path):
    """{epoch: (char %, seq %, val_loss)} from a smelt metrics.jsonl."""
    curve = {}
    if os.path.exists(path):
        for line in open(path):
            d = json.loads(line)
            curve[d["epoch"]] = (100 * d["val_char_acc"], 100 * d["val_seq_acc"], d["val_loss"])
    return curve


def torch_curve(path):
    curve = {}
    if os.path.exists(path):
        for line in open(path):
            m = PEER_LINE.match(line)
            if m:
                curve[int(m.group(1))] = (float(m.group(3)), float(m.group(4)), float(m.group(2)))
    return curve


def passed_target(a, curve):
    """The first epoch whose sequence accuracy passes --target-seq, or None."""
    return next((ep for ep in sorted(curve) if curve[ep][1] > a.target_seq), None)


def finished(a, curve):
    return len(curve) >= a.epochs or (a.stop_at_target and passed_target(a, curve) is not None)


def watch(a, proc, curve):
    """Waits for a training; with --stop-at-target, interrupts it (SIGINT) once an epoch passes
    the target: smelt keeps the checkpoint of its last finished epoch, the peer its log."""
    while proc.poll() is None:
        if a.stop_at_target and passed_target(a, curve()) is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return
        time.sleep(5)


def report(a):
    for preset in a.preset:
        runs = [(f"smelt s{s}", smelt_curve(os.path.join(a.out, "smelt", f"{preset}_s{s}", "metrics.jsonl")))
                for s in a.seeds]
        runs += [(f"torch s{s}", torch_curve(os.path.join(a.out, "torch", f"{preset}_s{s}.log")))
                 for s in a.seeds]
        print(f"\n{preset}: validation character % / sequence % / loss per epoch")
        print("| epoch | " + " | ".join(name for name, _ in runs) + " |")
        print("|---" * (len(runs) + 1) + "|")
        for ep in range(1, a.epochs + 1):
            cells = [f"{c[ep][0]:.1f} / {c[ep][1]:.1f} / {c[ep][2]:.3f}" if ep in c else "" for _, c in runs]
            if any(cells):
                print(f"| {ep} | " + " | ".join(cells) + " |")
        firsts = []
        for name, c in runs:
            hit = passed_target(a, c)
            firsts.append(f"{name} {hit if hit else '-'}")
        print(f"first epoch with sequence accuracy above {a.target_seq:g}%: " + ", ".join(firsts))


def main():
    a = parse_args()
    if a.report:
        report(a)
        return
    for side in ("smelt", "torch", "data"):
        os.makedirs(os.path.join(a.out, side), exist_ok=True)
    folders = make_data(a)
    jobs = []
    for preset in a.preset:
        for seed in a.seeds:
            if a.only != "torch":
                jobs.append((smelt_job, preset, seed))
            if a.only != "smelt":
                jobs.append((torch_job, preset, seed))
    start = time.time()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        futures = [pool.submit(fn, a, folders, preset, seed) for fn, preset, seed in jobs]
        for f in futures:
            f.result()
    print(f"{len(jobs)} trainings in {time.time() - start:.0f} s", file=sys.stderr)
    report(a)


if __name__ == "__main__":
    main()
