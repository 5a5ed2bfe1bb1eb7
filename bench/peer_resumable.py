#!/usr/bin/env python3
"""The PyTorch peer's training loop (../shared/peers/torch_train.py, whose data loading, loss and
decoding it imports) with a checkpoint after every epoch, so that a run longer than a session
goes on where it stopped: the model, the optimizer, the plateau scheduler and the random
generators' states (torch's draws the shuffles and dropout), so that a resumed run prints what
an uninterrupted one would. Same options as torch_train.py plus --state FILE (default: the log's
place, LOG.state.pt, when --log is given). Lines go to stdout as torch_train.py prints them.

  bench/peer_resumable.py --preset small --train D/train --val D/val --epochs 50 --seed 1 \
      --threads 1 --charset 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ --state RUN.state.pt

bench/parity.py's peer is torch_train.py; pass --peer bench/peer_resumable.py to use this one
(it then keeps the state beside the peer's log and resumes it)."""
import argparse, os, sys, time

PEERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "peers")
sys.path.insert(0, PEERS)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch_presets as tp  # noqa: E402
import torch_train as peer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small", choices=tp.PRESETS)
    ap.add_argument("--train", required=True); ap.add_argument("--val", required=True)
    ap.add_argument("--epochs", type=int, default=15); ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lr", type=float, default=1e-3); ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.05)
    ap.add_argument("--clip", type=float, default=5.0); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--charset"); ap.add_argument("--max-length", type=int, default=8)
    ap.add_argument("--state", required=True, help="checkpoint file, written after every epoch")
    a = ap.parse_args()
    torch.manual_seed(a.seed); np.random.seed(a.seed); torch.set_num_threads(a.threads)
    xtr, ytr = peer.load(a.train); xva, yva = peer.load(a.val)
    sym = a.charset or "".join(sorted(set("".join(ytr))))
    tp.SYMBOLS, tp.MAXLEN = len(sym), a.max_length
    tp.CLASSES, tp.CTC_CLASSES = len(sym) + 2, len(sym) + 1
    net = tp.Net(*tp.PRESETS[a.preset])
    ctc = net.head == "ctc"
    opt = torch.optim.Adam(net.parameters(), a.lr, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, "min", factor=0.5, patience=10)
    first = 1
    if os.path.exists(a.state):
        s = torch.load(a.state)
        net.load_state_dict(s["net"]); opt.load_state_dict(s["opt"]); sched.load_state_dict(s["sched"])
        torch.set_rng_state(s["torch_rng"]); np.random.set_state(s["numpy_rng"])
        first = s["epoch"] + 1
        print(f"# resumed from {a.state} after epoch {s['epoch']}", flush=True)
    else:
        print(f"{a.preset}: {sum(p.numel() for p in net.parameters())} params, charset {len(sym)}, "
              f"train {len(ytr)}, val {len(yva)}, seed {a.seed}", flush=True)

    def loss_of(x, texts):
        b = len(texts)
        if ctc:
            tgt = torch.tensor([sym.index(c) + 1 for t in texts for c in t])
            lens = torch.tensor([len(t) for t in texts])
            lp = net(x, None).log_softmax(2).transpose(0, 1)
            return F.ctc_loss(lp, tgt, torch.full((b,), lp.size(0)), lens)
        y = torch.full((b, tp.MAXLEN + 1), -100, dtype=torch.long)
        for r, t in enumerate(texts):
            ids = [sym.index(c) + 2 for c in t] + [tp.END]
            y[r, :len(ids)] = torch.tensor(ids)
        y_in = torch.cat([torch.full((b, 1), tp.GO, dtype=torch.long), y[:, :-1].clamp(min=0)], 1)
        out = net(x, y_in)
        return F.cross_entropy(out.reshape(-1, tp.CLASSES), y.reshape(-1), ignore_index=-100,
                               label_smoothing=a.label_smoothing)

    def decode(row):
        s, prev = [], None
        for k in row:
            if ctc:
                if k != 0 and k != prev: s.append(sym[k - 1])
                prev = k
            else:
                if k == tp.END: break
                if k >= 2: s.append(sym[k - 2])
        return "".join(s)

    n, B = len(ytr), a.batch
    for ep in range(first, a.epochs + 1):
        net.train(); t0 = time.time(); perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            opt.zero_grad()
            loss = loss_of(xtr[idx], [ytr[j] for j in idx])
            loss.backward()
            if a.clip > 0: torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip)
            opt.step()
        net.eval(); preds, vloss = [], 0.0
        with torch.no_grad():
            for i in range(0, len(yva), 64):
                x, texts = xva[i:i + 64], yva[i:i + 64]
                vloss += loss_of(x, texts).item() * len(texts)
                preds += [decode(r) for r in net.greedy(x).tolist()]
        vloss /= len(yva)
        ed = sum(peer.edit(p, g) for p, g in zip(preds, yva)); ref = sum(len(g) for g in yva)
        char = max(0.0, 1 - ed / ref); seq = sum(p == g for p, g in zip(preds, yva)) / len(yva)
        sched.step(vloss)
        print(f"epoch {ep} val_loss {vloss:.4f} char_acc {char * 100:.2f} seq_acc {seq * 100:.2f} "
              f"lr {opt.param_groups[0]['lr']:.2e} time {time.time() - t0:.0f}s", flush=True)
        tmp = a.state + ".tmp"
        torch.save({"epoch": ep, "net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state()}, tmp)
        os.replace(tmp, a.state)


if __name__ == "__main__":
    main()
