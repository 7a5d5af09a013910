#!/usr/bin/env python3
"""PyTorch-on-CPU reference for bench/translate.ts: the same whole-volume translation as
models3d/inference (2-D: slices along z in batches, 3-D: the given sliding windows with the given
Gaussian weights), with the same ResNet generator (bench/engine_torch.py's, loaded with our weights),
the same normalisation arithmetic and thread count. Generator calls run under torch.inference_mode.

Usage: translate_torch.py --threads N --cases FILE
FILE is a JSON list of cases written by bench/translate.ts, each with: dims, ngf, blocks, shape [nx, ny, nz],
volume (raw float32 file, x fastest), weights (raw float32, our parameters in spec order) and params
(their shapes), source/target ({sum, range}), batch, and for 3-D window [px, py, pz], starts [[i, j, k]...]
and gaussian (raw float32 [pz, py, px]); output: where to write the translated volume (raw float32).
Progress counts slices (2-D) or windows (3-D); with --budget S a case stops after the generator call
that passes S seconds ("done" < "total").
Prints one JSON object: {"torch": version, "threads": N, "cases": [{"seconds": s, "done": n, "total": n}, ...]}.
"""
import argparse
import json
import time

import numpy as np
import torch

from engine_torch import resnet_generator


def load_generator(case):
    dims = case["dims"]
    net = resnet_generator(dims, case["ngf"], case["blocks"]).eval()
    flat = np.fromfile(case["weights"], dtype=np.float32)
    params = list(net.parameters())
    if len(params) != len(case["params"]):
        raise SystemExit(f"{len(params)} PyTorch parameters, {len(case['params'])} ours")
    # ours: conv [...k, in, out], convT [...k, out, in]; PyTorch: conv [out, in, ...k], convT [in, out, ...k]
    perm = (dims + 1, dims) + tuple(range(dims))
    offset = 0
    with torch.no_grad():
        for p, shape in zip(params, case["params"]):
            n = int(np.prod(shape))
            t = torch.from_numpy(flat[offset : offset + n].copy()).reshape(shape)
            offset += n
            if t.dim() > 1:
                t = t.permute(*perm)
            if tuple(p.shape) != tuple(t.shape):
                raise SystemExit(f"parameter shape {tuple(p.shape)} vs ours {tuple(t.shape)}")
            p.copy_(t)
    return net


def normalise(x, m):
    return np.clip((2 * x - m["sum"]) / m["range"], -1, 1).astype(np.float32)


def translate_2d(net, vol, case, deadline):
    """Slices along z (tensor [batch, 1, ny, nx]), `batch` at a time. Progress is counted in slices."""
    src, tgt, batch = case["source"], case["target"], case["batch"]
    out = np.empty_like(vol)
    done = 0
    with torch.inference_mode():
        for z0 in range(0, vol.shape[0], batch):
            x = torch.from_numpy(normalise(vol[z0 : z0 + batch], src)).unsqueeze(1)
            y = net(x).squeeze(1).numpy()
            out[z0 : z0 + batch] = (tgt["range"] * y + tgt["sum"]) / 2
            done += y.shape[0]
            if time.perf_counter() > deadline:
                break
    return out, done, vol.shape[0]


def translate_3d(net, vol, case, deadline):
    """The given windows with Gaussian blending (the volume needs no padding: the bench makes sure)."""
    src, tgt = case["source"], case["target"]
    px, py, pz = case["window"]
    w = np.fromfile(case["gaussian"], dtype=np.float32).reshape(pz, py, px)
    acc = np.zeros(vol.shape, dtype=np.float32)
    wsum = np.zeros(vol.shape, dtype=np.float32)
    done = 0
    with torch.inference_mode():
        for i, j, k in case["starts"]:
            x = torch.from_numpy(normalise(vol[k : k + pz, j : j + py, i : i + px], src))[None, None]
            y = net(x)[0, 0].numpy()
            acc[k : k + pz, j : j + py, i : i + px] += w * y
            wsum[k : k + pz, j : j + py, i : i + px] += w
            done += 1
            if time.perf_counter() > deadline:
                break
    with np.errstate(invalid="ignore", divide="ignore"):
        return (tgt["range"] * (acc / wsum) + tgt["sum"]) / 2, done, len(case["starts"])


def run_case(case, budget):
    nx, ny, nz = case["shape"]
    vol = np.fromfile(case["volume"], dtype=np.float32).reshape(nz, ny, nx)
    net = load_generator(case)
    translate = translate_2d if case["dims"] == 2 else translate_3d
    # Warm-up: one generator call on the first input (as the TypeScript side does).
    with torch.inference_mode():
        first = [case["batch"], 1, ny, nx] if case["dims"] == 2 else [1, 1] + list(reversed(case["window"]))
        net(torch.zeros(first))
    t0 = time.perf_counter()
    out, done, total = translate(net, vol, case, t0 + budget)
    seconds = time.perf_counter() - t0
    out.astype(np.float32).tofile(case["output"])
    return {"seconds": seconds, "done": done, "total": total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--budget", type=float, default=float("inf"), help="seconds per case, then stop and report the part done")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cases = json.load(open(a.cases))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": [run_case(c, a.budget) for c in cases]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
