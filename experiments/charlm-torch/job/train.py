"""Character-level language model on tinyshakespeare.txt, built from the experiment's ArchSpec.

arlo runs this as an external job (see experiments/charlm-torch.ts):
  python3 train.py --spec <work>/spec.json --out <work>/out [--context 16 ...]

The model reads a window of `context` characters, one-hot encoded and flattened (the ArchSpec's
input node has shape [context * vocab]), and predicts the next character (its output node gives
`vocab` logits). Every node of the ArchSpec becomes a torch layer (arlo_spec.build_model), so an
edit such as addBypass changes the network that trains here.

An "epoch" is a fixed number of training windows drawn (seeded) from the first 90% of the text;
validation is a fixed, evenly spaced set of windows from the last 10%. The metric is validation
bits per character (val_bpc = mean cross-entropy in nats / ln 2; lower is better).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import arlo_spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--windows-per-epoch", type=int, default=48000)
    ap.add_argument("--val-windows", type=int, default=16384)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("ARLO_TORCH_THREADS", "2")))
    ap.add_argument("--file", default="tinyshakespeare.txt")
    args = ap.parse_args()

    started = time.time()
    torch.set_num_threads(max(1, args.threads))
    job = arlo_spec.read_job(args.spec)
    spec, seed = job["spec"], int(job.get("seed", 0))
    recipe = spec["recipe"]
    path = os.path.join(job["dataDir"], args.file)
    if not os.path.exists(path):
        arlo_spec.log(f"data file {args.file} not found at {path}; set ARLO_DATA_DIR to the folder that holds it")
        sys.exit(2)
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()

    vocab = sorted(set(text))
    V, K = len(vocab), args.context
    stoi = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    split = int(len(data) * 0.9)
    train, val = data[:split], data[split:]

    torch.manual_seed(seed)
    model = arlo_spec.build_model(spec["arch"], seed)
    if model.input_shape != [K * V]:
        arlo_spec.log(f"the input node must have shape [{K * V}] (context {K} x vocab {V}), got {model.input_shape}")
        sys.exit(2)
    if model.output_shape != [V]:
        arlo_spec.log(f"the output node must give {V} logits (the vocabulary), got {model.output_shape}")
        sys.exit(2)
    opt = arlo_spec.make_optimizer(model, recipe)
    params = arlo_spec.count_params(model)
    arlo_spec.log(f"charlm: vocab {V}, context {K}, {params} parameters, {len(train)} train / {len(val)} val chars, "
                  f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    def batch(source, starts):
        idx = starts.unsqueeze(1) + torch.arange(K + 1).unsqueeze(0)
        w = source[idx]
        x = F.one_hot(w[:, :K], V).float().reshape(len(starts), K * V)
        return x, w[:, K]

    val_starts = torch.linspace(0, len(val) - K - 2, args.val_windows).long()

    def evaluate():
        model.eval()
        total = 0.0
        with torch.no_grad():
            for i in range(0, len(val_starts), 4096):
                x, y = batch(val, val_starts[i:i + 4096])
                total += F.cross_entropy(model(x), y, reduction="sum").item()
        model.train()
        return total / len(val_starts) / math.log(2)

    epochs, bs = int(recipe["epochs"]), int(recipe["batchSize"])
    steps_per_epoch = max(1, args.windows_per_epoch // bs)
    gen = torch.Generator().manual_seed(seed)
    step, loss_value, val_bpc = 0, float("nan"), float("nan")
    for epoch in range(1, epochs + 1):
        running, seen = 0.0, 0
        for s in range(steps_per_epoch):
            starts = torch.randint(0, len(train) - K - 1, (bs,), generator=gen)
            x, y = batch(train, starts)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            running += loss.item()
            seen += 1
            if step % 50 == 0:
                arlo_spec.progress(epoch=epoch, epochs=epochs, step=step, steps=epochs * steps_per_epoch,
                                   loss=running / seen, seconds=round(time.time() - started, 2))
            if not math.isfinite(loss.item()):
                break
        loss_value = running / max(seen, 1)
        if not math.isfinite(loss_value):
            arlo_spec.log(f"epoch {epoch}: the training loss became {loss_value}; stopping")
            val_bpc = float("nan")
            break
        val_bpc = evaluate()
        arlo_spec.progress(epoch=epoch, epochs=epochs, step=step, steps=epochs * steps_per_epoch,
                           loss=loss_value, train_bpc=loss_value / math.log(2), val_bpc=val_bpc,
                           seconds=round(time.time() - started, 2))

    metrics = {"val_bpc": val_bpc, "train_loss": loss_value, "train_bpc": loss_value / math.log(2)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"metrics": metrics, "params": params}, f)
    arlo_spec.result(metrics, params=params, backend=f"torch {torch.__version__} cpu",
                     seconds=round(time.time() - started, 2))


if __name__ == "__main__":
    main()
