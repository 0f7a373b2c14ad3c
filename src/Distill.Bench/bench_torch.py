"""PyTorch side of `distill bench`: the same networks and steps as the C# side, driven over stdin.

Commands (one per line): `train N` and `infer N` print the median seconds of N timed repetitions, `op N` the median
seconds per call of a one-element add over N blocks of 1000 calls; `quit` exits.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.nn.functional.silu(self.bn(self.conv(x)))


class BenchBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvBnAct(c, c, 3)
        self.dw = ConvBnAct(c, c, 5, groups=c)
        self.pw = ConvBnAct(c, c, 1)

    def forward(self, x):
        return self.pw(self.dw(self.conv1(x))) + x


class BenchNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [ConvBnAct(3, 12, 3, 2), ConvBnAct(12, 12, 3), ConvBnAct(12, 24, 3)]
        cin = 24
        for cout in (48, 96, 192, 384):
            layers += [ConvBnAct(cin, cout, 3, 2), BenchBlock(cout)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.head = nn.Conv2d(384, 17, 1)

    def forward(self, x):
        return self.head(self.layers(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=192)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = BenchNet()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.05)
    x = torch.randn(args.batch, 3, args.height, args.width)
    x1 = torch.randn(1, 3, args.height, args.width)

    def train_step():
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = net(x).square().mean()
        loss.backward()
        opt.step()

    def infer():
        net.eval()
        with torch.no_grad():
            net(x1)

    a = torch.ones(1)
    b = torch.ones(1)

    def ops():
        t0 = time.perf_counter()
        for _ in range(1000):
            torch.add(a, b)
        return (time.perf_counter() - t0) / 1000

    for _ in range(2):
        train_step()
        infer()
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        if parts[0] == "op":
            print(statistics.median(ops() for _ in range(int(parts[1]))), flush=True)
            continue
        fn = train_step if parts[0] == "train" else infer
        times = []
        for _ in range(int(parts[1])):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(statistics.median(times), flush=True)


if __name__ == "__main__":
    main()
