#!/usr/bin/env python3
"""PyTorch-on-CPU reference for bench/engine.ts: the same CycleGAN networks as models3d/networks
(the reference CycleGAN ResnetGenerator and NLayerDiscriminator, instance norm affine=False, reflection
padding, ConvTranspose with output_padding=1), the same iteration (G_AB and G_BA jointly on LSGAN +
cycle L1 (λ=10) + identity L1 (0.5·λ), then D_A and D_B, Adam lr 2e-4 β1 0.5), batch 1, 1 channel.

Usage: engine_torch.py --threads N --configs JSON [--iters K] [--warmup K] [--forward-configs JSON] [--check FILE]
Prints one JSON object: {"torch": version, "threads": N, "cyclegan": [...], "forward": [...]}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


def layers(dims):
    if dims == 2:
        return nn.Conv2d, nn.ConvTranspose2d, nn.ReflectionPad2d, nn.InstanceNorm2d
    return nn.Conv3d, nn.ConvTranspose3d, nn.ReflectionPad3d, nn.InstanceNorm3d


class ResnetBlock(nn.Module):
    def __init__(self, dims, ch):
        super().__init__()
        Conv, _, Pad, Norm = layers(dims)
        self.block = nn.Sequential(Pad(1), Conv(ch, ch, 3), Norm(ch), nn.ReLU(True), Pad(1), Conv(ch, ch, 3), Norm(ch))

    def forward(self, x):
        return x + self.block(x)


def resnet_generator(dims, ngf, blocks, in_c=1, out_c=1):
    Conv, ConvT, Pad, Norm = layers(dims)
    seq = [Pad(3), Conv(in_c, ngf, 7), Norm(ngf), nn.ReLU(True)]
    ch = ngf
    for _ in range(2):
        seq += [Conv(ch, ch * 2, 3, stride=2, padding=1), Norm(ch * 2), nn.ReLU(True)]
        ch *= 2
    seq += [ResnetBlock(dims, ch) for _ in range(blocks)]
    for _ in range(2):
        seq += [ConvT(ch, ch // 2, 3, stride=2, padding=1, output_padding=1), Norm(ch // 2), nn.ReLU(True)]
        ch //= 2
    seq += [Pad(3), Conv(ngf, out_c, 7), nn.Tanh()]
    return nn.Sequential(*seq)


def patch_discriminator(dims, ndf=64, n_layers=3, in_c=1):
    Conv, _, _, Norm = layers(dims)
    seq = [Conv(in_c, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    ch = ndf
    for i in range(1, n_layers + 1):
        nxt = ndf * min(2 ** i, 8)
        seq += [Conv(ch, nxt, 4, stride=2 if i < n_layers else 1, padding=1), Norm(nxt), nn.LeakyReLU(0.2, True)]
        ch = nxt
    seq += [Conv(ch, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*seq)


def init_weights(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


def cyclegan_iteration_time(cfg, iters, warmup):
    dims, size = cfg["dims"], cfg["size"]
    torch.manual_seed(0)
    g_ab = init_weights(resnet_generator(dims, cfg["ngf"], cfg["blocks"]))
    g_ba = init_weights(resnet_generator(dims, cfg["ngf"], cfg["blocks"]))
    d_a = init_weights(patch_discriminator(dims, cfg.get("ndf", 64)))
    d_b = init_weights(patch_discriminator(dims, cfg.get("ndf", 64)))
    opt_g = torch.optim.Adam(list(g_ab.parameters()) + list(g_ba.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=2e-4, betas=(0.5, 0.999))
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    shape = (1, 1) + (size,) * dims
    real_a = torch.rand(shape) * 2 - 1
    real_b = torch.rand(shape) * 2 - 1
    lam, lam_idt = 10.0, 0.5

    def step():
        for p in list(d_a.parameters()) + list(d_b.parameters()):
            p.requires_grad_(False)
        opt_g.zero_grad()
        fake_b = g_ab(real_a)
        fake_a = g_ba(real_b)
        pred_b = d_b(fake_b)
        pred_a = d_a(fake_a)
        loss_g = (
            mse(pred_b, torch.ones_like(pred_b))
            + mse(pred_a, torch.ones_like(pred_a))
            + l1(g_ba(fake_b), real_a) * lam
            + l1(g_ab(fake_a), real_b) * lam
            + l1(g_ab(real_b), real_b) * lam * lam_idt
            + l1(g_ba(real_a), real_a) * lam * lam_idt
        )
        loss_g.backward()
        opt_g.step()
        for p in list(d_a.parameters()) + list(d_b.parameters()):
            p.requires_grad_(True)
        opt_d.zero_grad()
        for d, real, fake in ((d_a, real_a, fake_a), (d_b, real_b, fake_b)):
            pr, pf = d(real), d(fake.detach())
            loss_d = (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf))) * 0.5
            loss_d.backward()
        opt_d.step()
        return float(loss_g)

    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {**cfg, "seconds": times[len(times) // 2], "all": times}


def forward_throughput(cfg, seconds_budget):
    dims, size = 2, cfg["size"]
    torch.manual_seed(0)
    g = init_weights(resnet_generator(dims, cfg["ngf"], cfg["blocks"])).eval()
    x = torch.rand((cfg.get("batch", 1), 1, size, size)) * 2 - 1
    with torch.no_grad():
        g(x)
        n, t0 = 0, time.perf_counter()
        while True:
            g(x)
            n += x.shape[0]
            el = time.perf_counter() - t0
            if el > seconds_budget and n >= 2:
                break
    return {**cfg, "slicesPerSecond": n / el}


def check_same_outputs(path):
    """Loads networks exported by bench/engine.ts (our weights, input and output) into the PyTorch nets and
    reports the largest output difference: the two sides must be the same architecture."""
    results = []
    for case in json.load(open(path)):
        dims, c = case["dims"], case["config"]
        if case["kind"] == "generator":
            net = resnet_generator(dims, c["ngf"], c["blocks"])
        else:
            net = patch_discriminator(dims, c["ndf"], c["layers"])
        params = list(net.parameters())
        if len(params) != len(case["params"]):
            raise SystemExit(f"{case['kind']} {dims}-D: {len(params)} PyTorch parameters, {len(case['params'])} ours")
        # ours: conv [...k, in, out], convT [...k, out, in]; PyTorch: conv [out, in, ...k], convT [in, out, ...k]
        perm = (dims + 1, dims) + tuple(range(dims))
        with torch.no_grad():
            for p, q in zip(params, case["params"]):
                t = torch.tensor(q["data"], dtype=torch.float32).reshape(q["shape"])
                if t.dim() > 1:
                    t = t.permute(*perm)
                if p.shape != t.shape:
                    raise SystemExit(f"{case['kind']} {dims}-D: parameter shape {tuple(p.shape)} vs ours {tuple(t.shape)}")
                p.copy_(t)
            x = torch.tensor(case["x"]["data"]).reshape(case["x"]["shape"]).permute(0, dims + 1, *range(1, dims + 1))
            y = net(x).permute(0, *range(2, dims + 2), 1).reshape(-1)
        ref = torch.tensor(case["y"]["data"])
        if y.shape != ref.shape:
            raise SystemExit(f"{case['kind']} {dims}-D: output has {y.numel()} values, ours {ref.numel()}")
        results.append({"dims": dims, "kind": case["kind"], "maxAbsDiff": float((y - ref).abs().max()), "maxAbs": float(ref.abs().max())})
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--configs", default="[]")
    ap.add_argument("--forward-configs", default="[]")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--check", help="JSON file of networks exported by bench/engine.ts to compare outputs")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cyclegan": [], "forward": []}
    if a.check:
        out["check"] = check_same_outputs(a.check)
    for cfg in json.loads(a.configs):
        out["cyclegan"].append(cyclegan_iteration_time(cfg, cfg.get("iters", a.iters), cfg.get("warmup", a.warmup)))
    for cfg in json.loads(a.forward_configs):
        out["forward"].append(forward_throughput(cfg, cfg.get("seconds", 5.0)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
