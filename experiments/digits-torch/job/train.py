"""UCI handwritten digits (digits.csv: 64 pixels 0..16, then the label) with a model built from
the experiment's ArchSpec; the PyTorch twin of the TF.js `digits` template.

arlo runs this as an external job (see experiments/digits-torch.ts):
  python3 train.py --spec <work>/spec.json --out <work>/out

Validation: a fixed stratified 20% of the rows (split seed 1234, independent of the training
seed). An input node of shape [8, 8, 1] gets images, [64] gets vectors. Metric: val_accuracy.
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


def load(path, split_seed, fraction):
    rows = []
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append([int(v) for v in line.split(",")])
    t = torch.tensor(rows, dtype=torch.float32)
    x, y = t[:, :-1] / 16.0, t[:, -1].long()
    gen = torch.Generator().manual_seed(split_seed)
    val_idx = []
    for c in range(10):
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        val_idx.append(idx[: round(len(idx) * fraction)])
    val_idx = torch.cat(val_idx)
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[val_idx] = False
    return x[mask], y[mask], x[val_idx], y[val_idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("ARLO_TORCH_THREADS", "2")))
    args = ap.parse_args()

    started = time.time()
    torch.set_num_threads(max(1, args.threads))
    job = arlo_spec.read_job(args.spec)
    spec, seed = job["spec"], int(job.get("seed", 0))
    recipe = spec["recipe"]
    path = os.path.join(job["dataDir"], "digits.csv")
    if not os.path.exists(path):
        arlo_spec.log(f"data file digits.csv not found at {path}; set ARLO_DATA_DIR to the folder that holds it")
        sys.exit(2)
    xt, yt, xv, yv = load(path, 1234, 0.2)

    torch.manual_seed(seed)
    model = arlo_spec.build_model(spec["arch"], seed)
    shape = model.input_shape
    if int(math.prod(shape)) != 64:
        arlo_spec.log(f"the input node must hold 64 pixels ([64] or [8, 8, 1]), got {shape}")
        sys.exit(2)
    if model.output_shape != [10]:
        arlo_spec.log(f"the output node must give 10 logits, got {model.output_shape}")
        sys.exit(2)
    xt, xv = xt.reshape(-1, *shape), xv.reshape(-1, *shape)
    opt = arlo_spec.make_optimizer(model, recipe)
    params = arlo_spec.count_params(model)
    arlo_spec.log(f"digits: {len(yt)} train / {len(yv)} val, {params} parameters, torch {torch.__version__}")

    def evaluate():
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            loss = F.cross_entropy(logits, yv).item()
            acc = (logits.argmax(1) == yv).float().mean().item()
        model.train()
        return loss, acc

    epochs, bs = int(recipe["epochs"]), int(recipe["batchSize"])
    gen = torch.Generator().manual_seed(seed)
    loss_value, val_loss, val_acc = float("nan"), float("nan"), float("nan")
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(yt), generator=gen)
        running, seen = 0.0, 0
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
            seen += len(idx)
        loss_value = running / seen
        if not math.isfinite(loss_value):
            arlo_spec.log(f"epoch {epoch}: the training loss became {loss_value}; stopping")
            val_acc = float("nan")
            break
        val_loss, val_acc = evaluate()
        arlo_spec.progress(epoch=epoch, epochs=epochs, loss=loss_value, val_loss=val_loss, val_accuracy=val_acc,
                           seconds=round(time.time() - started, 2))

    metrics = {"val_accuracy": val_acc, "val_loss": val_loss, "train_loss": loss_value}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"metrics": metrics, "params": params}, f)
    arlo_spec.result(metrics, params=params, backend=f"torch {torch.__version__} cpu",
                     seconds=round(time.time() - started, 2))


if __name__ == "__main__":
    main()
