"""Training throughput of ArchSpecs in PyTorch, for `npm run bench` (bench/throughput.ts).

Reads a JSON request on stdin: {"specs": [{"name", "spec", "samples", "shape", "classes"}], "threads"}
and prints one JSON object: fixed costs and samples/s per spec, plus a large-matmul peak. The
network is built by arlo's own ArchSpec interpreter (training/external/python/arlo_spec.py), so it
is the same graph the TF.js trainer compiles.
"""

import json
import os
import sys
import time

t0 = time.perf_counter()
import torch  # noqa: E402

import_seconds = time.perf_counter() - t0
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training", "external", "python"))
import arlo_spec  # noqa: E402


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(int(req.get("threads", 2)))
    out = {"import_seconds": import_seconds, "torch": torch.__version__, "threads": torch.get_num_threads(), "specs": []}
    for item in req["specs"]:
        spec, n, batch = item["spec"], item["samples"], item["spec"]["recipe"]["batchSize"]
        g = torch.Generator().manual_seed(1)
        x = torch.randn((n, *item["shape"]), generator=g)
        y = torch.randint(0, item["classes"], (n,), generator=g)
        t = time.perf_counter()
        model = arlo_spec.build_model(spec["arch"], seed=1)
        opt = arlo_spec.make_optimizer(model, spec["recipe"])
        build = time.perf_counter() - t

        def step(i):
            xb, yb = x[i : i + batch], y[i : i + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

        t = time.perf_counter()
        step(0)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(0, n - batch + 1, batch):
            step(i)
        seconds = time.perf_counter() - t
        done = (n // batch) * batch
        out["specs"].append({"name": item["name"], "build_seconds": build, "first_step_seconds": first, "samples_per_second": done / seconds})
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    torch.mm(a, b)
    t = time.perf_counter()
    reps = 5
    for _ in range(reps):
        torch.mm(a, b)
    out["matmul_gflops"] = reps * 2 * 2048**3 / (time.perf_counter() - t) / 1e9
    print(json.dumps(out))


main()
