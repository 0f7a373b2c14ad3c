"""PyTorch side of `distill bench --suite bottomup`: the same CSPNeXt + CIF/CAF model and field loss as the C# side,
trained on the same batch (inputs and encoded targets read from raw float32 files), driven over stdin.

Commands: `train N` prints the median seconds of N timed training steps (SGD with Nesterov); `loss` prints the six
loss terms of the current weights; `quit` exits.
"""
import argparse
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_models import CSPNeXt


class FieldHead(nn.Module):
    def __init__(self, cin, fields, vectors, scales, upsample):
        super().__init__()
        self.fields, self.comps, self.u = fields, 2 + 2 * vectors + scales, upsample
        self.conv = nn.Conv2d(cin, fields * self.comps * upsample * upsample, 1)

    def forward(self, x):
        x = self.conv(x)
        if self.u > 1:
            x = F.pixel_shuffle(x, self.u)
            low, high = (self.u - 1) // 2, self.u - 1 - (self.u - 1) // 2
            x = x[:, :, low:x.shape[2] - high, low:x.shape[3] - high]
        return x.reshape(x.shape[0], self.fields, self.comps, x.shape[2], x.shape[3])


class Backbone(CSPNeXt):
    """CSPNeXt returning stage 3 (stride 16)."""

    def forward(self, x):
        x = self.stem(x)
        for i in range(3):
            x = getattr(self, f"stage{i + 1}")(x)
        return x


def soft_clamp(l):
    return torch.where(l > 5, torch.log((l - 4).clamp(min=1)) + 5, l)


def spread(x0):
    return 3 * torch.tanh(x0 / 3)


def field_loss(x, t, vectors, scales, b_scale=1.0):
    batch = x.shape[0]
    s0 = x[:, :, 0]
    # confidence
    mask = ~torch.isnan(t[:, :, 0])
    xs, ts = x[:, :, 1][mask], t[:, :, 0][mask]
    pos = ts > 0
    sgn = torch.where(pos, 1.0, -1.0)
    with torch.no_grad():
        sx = sgn * xs
        p = 1 - torch.sigmoid(sx)
        focal = 0.5 * (p + (1 - p) * F.softplus(-sx))
        shifted = xs + sgn * p * focal
    l = F.smooth_l1_loss(xs, shifted, reduction="none")
    l = l.masked_fill(~pos & (xs < -15), 0)
    l = soft_clamp(l)
    L = spread(s0[mask])
    l = torch.where(pos, 0.5 * l * torch.exp(-L) + 0.5 * L, l)
    c = l.sum() / batch
    vec = x.new_zeros(())
    for v in range(vectors):
        tx, ty = t[:, :, 1 + 2 * v], t[:, :, 2 + 2 * v]
        m = torch.isfinite(tx) & torch.isfinite(ty)
        dx = x[:, :, 2 + 2 * v][m] - tx[m]
        dy = x[:, :, 3 + 2 * v][m] - ty[m]
        b = t[:, :, 1 + 2 * vectors + v][m]
        b = torch.where(torch.isnan(b), 0.1, b)
        d = torch.sqrt(dx * dx + dy * dy + b * b)
        s = t[:, :, 1 + 3 * vectors + v][m]
        if scales > v:
            s = torch.where(torch.isnan(s), F.softplus(x[:, :, 2 + 2 * vectors + v].detach()[m]), s)
        lv = soft_clamp(d / (0.5 * s))
        logb = 0.5 * spread(s0[m]) + math.log(2)
        vec = vec + (lv * torch.exp(-logb) + logb).sum()
    sc = x.new_zeros(())
    for s in range(scales):
        ts = t[:, :, 1 + 3 * vectors + s]
        m = torch.isfinite(ts)
        rel = (F.softplus(x[:, :, 2 + 2 * vectors + s][m]) - ts[m]).abs() / ((ts[m] + 0.1) * b_scale)
        l = soft_clamp(rel)
        sc = sc + F.smooth_l1_loss(l, torch.zeros_like(l), reduction="none").sum()
    return c, vec / batch, sc / batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--deepen", type=float, required=True)
    ap.add_argument("--widen", type=float, required=True)
    ap.add_argument("--upsample", type=int, default=2)
    ap.add_argument("--input", required=True)
    ap.add_argument("--cif", required=True)
    ap.add_argument("--caf", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--field", type=int, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, s, f = args.batch, args.size, args.field
    x = torch.from_numpy(np.fromfile(args.input, dtype=np.float32).reshape(n, 3, s, s))
    tcif = torch.from_numpy(np.fromfile(args.cif, dtype=np.float32).reshape(n, 17, 5, f, f))
    tcaf = torch.from_numpy(np.fromfile(args.caf, dtype=np.float32).reshape(n, 19, 9, f, f))
    backbone = Backbone(args.deepen, args.widen)
    cin = int(512 * args.widen)
    cif, caf = FieldHead(cin, 17, 1, 1, args.upsample), FieldHead(cin, 19, 2, 2, args.upsample)
    params = list(backbone.parameters()) + list(cif.parameters()) + list(caf.parameters())
    opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, nesterov=True)

    def losses():
        feat = backbone(x)
        return field_loss(cif(feat), tcif, 1, 1) + field_loss(caf(feat), tcaf, 2, 2)

    def train_step():
        backbone.train()
        opt.zero_grad(set_to_none=True)
        total = sum(losses())
        total.backward()
        opt.step()

    for _ in range(2):
        train_step()
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        if parts[0] == "loss":
            with torch.no_grad():
                print(" ".join(f"{v.item():.6g}" for v in losses()), flush=True)
            continue
        times = []
        for _ in range(int(parts[1])):
            t0 = time.perf_counter()
            train_step()
            times.append(time.perf_counter() - t0)
        print(statistics.median(times), flush=True)


if __name__ == "__main__":
    main()
