"""arlo's Python helper for external training jobs (copied into every job's work folder).

- read_job(path): the job file arlo writes (spec.json): {"spec": {"arch", "recipe"}, "seed",
  "fidelity", "dataDir", ...}.
- build_model(arch): a torch.nn.Module interpreting an ArchSpec graph (the same graph TF.js
  compiles in training/compile.ts): input, dense, add, concat, layerNorm, dropout, activation,
  conv2d, maxPool2d, flatten. Image tensors are channels-last, [batch, height, width, channels],
  as in the ArchSpec; conv and pool permute internally.
- progress(**fields) / result(metrics, **extra): the JSON-lines protocol on stdout.

Only the standard library and torch. Node ids are treated as data (dictionary keys), never as code
or attribute names, so any string is a safe id.
"""

import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class SpecError(Exception):
    """The spec cannot be built; the message names the node and the problem."""


def read_job(path):
    with open(path, "r", encoding="utf-8") as f:
        job = json.load(f)
    if not isinstance(job, dict) or "spec" not in job:
        raise SpecError(f"{path}: not an arlo job file (no 'spec')")
    return job


# --------------------------------------------------------------------------------------------
# protocol


def _emit(obj):
    # allow_nan: NaN/inf go out as the JSON extensions NaN/Infinity; arlo classifies them as
    # JobNonFiniteMetric instead of failing to parse the line.
    sys.stdout.write(json.dumps(obj, allow_nan=True) + "\n")
    sys.stdout.flush()


def progress(**fields):
    """One progress line, e.g. progress(epoch=1, epochs=3, step=120, loss=2.31)."""
    _emit({"event": "progress", **fields})


def result(metrics, **extra):
    """The final line: metrics (numbers or booleans) plus optional extras such as params."""
    _emit({"event": "result", "metrics": metrics, **extra})


def log(*args):
    """Free text for the log (stderr): kept in the log tail, never parsed."""
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# ArchSpec -> torch


def _activation(name, node_id):
    table = {
        "linear": lambda x: x,
        "relu": F.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "elu": F.elu,
        "selu": F.selu,
        "gelu": F.gelu,
        "swish": F.silu,
    }
    if name not in table:
        raise SpecError(f"node {node_id!r}: unknown activation {name!r}")
    return table[name]


def _topo_order(arch):
    nodes = arch.get("nodes")
    output = arch.get("output")
    if not isinstance(nodes, list) or not nodes:
        raise SpecError("arch.nodes must be a non-empty list")
    by_id = {}
    for n in nodes:
        nid = n.get("id")
        if not isinstance(nid, str) or nid == "":
            raise SpecError("a node has no id")
        if nid in by_id:
            raise SpecError(f"duplicate node id {nid!r}")
        by_id[nid] = n
    if output not in by_id:
        raise SpecError(f"output node {output!r} does not exist")
    inputs = [n for n in nodes if n.get("op") == "input"]
    if len(inputs) != 1:
        raise SpecError(f"the graph must have exactly one input node, found {len(inputs)}")

    def ins(n):
        return [] if n.get("op") == "input" else list(n.get("inputs") or [])

    for n in nodes:
        for i in ins(n):
            if i not in by_id:
                raise SpecError(f"node {n['id']!r}: input {i!r} does not exist")
        if n.get("op") != "input" and not ins(n):
            raise SpecError(f"node {n['id']!r} ({n.get('op')}) has no inputs")
    # Only ancestors of the output are built (iterative DFS post-order, cycle check).
    order, state = [], {}
    stack = [(output, False)]
    while stack:
        nid, done = stack.pop()
        if done:
            state[nid] = 2
            order.append(by_id[nid])
            continue
        if state.get(nid) == 2:
            continue
        if state.get(nid) == 1:
            raise SpecError(f"the graph has a cycle through {nid!r}")
        state[nid] = 1
        stack.append((nid, True))
        for i in reversed(ins(by_id[nid])):
            if state.get(i) == 1:
                raise SpecError(f"the graph has a cycle through {i!r}")
            if state.get(i) != 2:
                stack.append((i, False))
    if inputs[0]["id"] not in state:
        raise SpecError(f"output {output!r} does not depend on the input node")
    return order, inputs[0]


def _glorot_(weight, fan_in, fan_out, generator):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        weight.uniform_(-limit, limit, generator=generator)


def _same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


class GraphModel(nn.Module):
    """Evaluates the ArchSpec graph node by node; layers live in a ModuleList by position."""

    def __init__(self, arch, seed=0):
        super().__init__()
        order, inp = _topo_order(arch)
        self.input_shape = list(inp["shape"])
        if not self.input_shape or any((not isinstance(d, int)) or d <= 0 for d in self.input_shape):
            raise SpecError(f"node {inp['id']!r}: input shape must be positive integers, got {self.input_shape}")
        self.output_id = arch["output"]
        self.steps = []  # (node id, op, input ids, layer index or None, params)
        self.layers = nn.ModuleList()
        gen = torch.Generator().manual_seed(int(seed) & 0x7FFFFFFF)
        shapes = {}

        def add_layer(layer):
            self.layers.append(layer)
            return len(self.layers) - 1

        for n in order:
            nid, op = n["id"], n.get("op")
            ins = [] if op == "input" else list(n["inputs"])
            in_shapes = [shapes[i] for i in ins]
            idx, extra = None, {}
            if op == "input":
                shape = self.input_shape
            elif op == "dense":
                if len(in_shapes[0]) != 1:
                    raise SpecError(f"node {nid!r}: dense needs a vector input, got shape {in_shapes[0]} (flatten first)")
                units = int(n["units"])
                layer = nn.Linear(in_shapes[0][0], units)
                _glorot_(layer.weight, in_shapes[0][0], units, gen)
                nn.init.zeros_(layer.bias)
                idx = add_layer(layer)
                extra["act"] = _activation(n.get("activation", "linear"), nid)
                shape = [units]
            elif op == "add":
                if any(s != in_shapes[0] for s in in_shapes):
                    raise SpecError(f"node {nid!r}: add needs equal shapes, got {in_shapes}")
                shape = in_shapes[0]
            elif op == "concat":
                if any(s[:-1] != in_shapes[0][:-1] for s in in_shapes):
                    raise SpecError(f"node {nid!r}: concat needs equal shapes except the last axis, got {in_shapes}")
                shape = in_shapes[0][:-1] + [sum(s[-1] for s in in_shapes)]
            elif op == "layerNorm":
                # epsilon 1e-3 as in training/compile.ts (Keras' default).
                idx = add_layer(nn.LayerNorm(in_shapes[0][-1], eps=1e-3))
                shape = in_shapes[0]
            elif op == "dropout":
                rate = float(n.get("rate", 0))
                if not (0 <= rate < 1):
                    raise SpecError(f"node {nid!r}: dropout rate must be in [0, 1), got {rate}")
                idx = add_layer(nn.Dropout(rate))
                shape = in_shapes[0]
            elif op == "activation":
                extra["act"] = _activation(n.get("activation", "linear"), nid)
                shape = in_shapes[0]
            elif op == "conv2d":
                if len(in_shapes[0]) != 3:
                    raise SpecError(f"node {nid!r}: conv2d needs [height, width, channels], got {in_shapes[0]}")
                h, w, c = in_shapes[0]
                k, s, f = int(n["kernelSize"]), int(n.get("strides", 1)), int(n["filters"])
                layer = nn.Conv2d(c, f, k, stride=s)
                _glorot_(layer.weight, c * k * k, f * k * k, gen)
                nn.init.zeros_(layer.bias)
                idx = add_layer(layer)
                extra["act"] = _activation(n.get("activation", "linear"), nid)
                if n.get("padding", "valid") == "same":
                    oh, pt, pb = _same_pad(h, k, s)
                    ow, pl, pr = _same_pad(w, k, s)
                    extra["pad"] = (pl, pr, pt, pb)
                else:
                    oh, ow = (h - k) // s + 1, (w - k) // s + 1
                if oh <= 0 or ow <= 0:
                    raise SpecError(f"node {nid!r}: kernel {k} does not fit input {in_shapes[0]}")
                shape = [oh, ow, f]
            elif op == "maxPool2d":
                if len(in_shapes[0]) != 3:
                    raise SpecError(f"node {nid!r}: maxPool2d needs [height, width, channels], got {in_shapes[0]}")
                h, w, c = in_shapes[0]
                p, s = int(n["poolSize"]), int(n.get("strides", n["poolSize"]))
                extra["pool"] = (p, s)
                oh, ow = (h - p) // s + 1, (w - p) // s + 1
                if oh <= 0 or ow <= 0:
                    raise SpecError(f"node {nid!r}: pool {p} does not fit input {in_shapes[0]}")
                shape = [oh, ow, c]
            elif op == "flatten":
                shape = [int(math.prod(in_shapes[0]))]
            else:
                raise SpecError(f"node {nid!r}: unknown op {op!r}")
            shapes[nid] = shape
            self.steps.append((nid, op, ins, idx, extra))
        self.output_shape = shapes[self.output_id]
        if len(self.output_shape) != 1:
            raise SpecError(f"output node {self.output_id!r} must give one vector of logits per sample, got shape {self.output_shape}")

    def forward(self, x):
        values = {}
        for nid, op, ins, idx, extra in self.steps:
            if op == "input":
                v = x
            elif op == "dense":
                v = extra["act"](self.layers[idx](values[ins[0]]))
            elif op == "add":
                v = values[ins[0]]
                for i in ins[1:]:
                    v = v + values[i]
            elif op == "concat":
                v = torch.cat([values[i] for i in ins], dim=-1) if len(ins) > 1 else values[ins[0]]
            elif op in ("layerNorm", "dropout"):
                v = self.layers[idx](values[ins[0]])
            elif op == "activation":
                v = extra["act"](values[ins[0]])
            elif op == "conv2d":
                t = values[ins[0]].permute(0, 3, 1, 2)
                if "pad" in extra:
                    t = F.pad(t, extra["pad"])
                v = extra["act"](self.layers[idx](t)).permute(0, 2, 3, 1)
            elif op == "maxPool2d":
                p, s = extra["pool"]
                v = F.max_pool2d(values[ins[0]].permute(0, 3, 1, 2), p, s).permute(0, 2, 3, 1)
            elif op == "flatten":
                v = values[ins[0]].reshape(values[ins[0]].shape[0], -1)
            values[nid] = v
        return values[self.output_id]


def build_model(arch, seed=0):
    return GraphModel(arch, seed)


def make_optimizer(model, recipe):
    lr = float(recipe["learningRate"])
    if recipe.get("optimizer", "adam") == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def count_params(model):
    return sum(p.numel() for p in model.parameters())
