"""PyTorch side of `distill bench --suite models`, driven over stdin (one command per line, one reply line each).

  build NAME            build a model (rtmpose-t, rtmpose-m, vitpose-s) and its AdamW; replies `ok PARAMS KEYS`
  forward BATCH N       N eval-mode forwards under torch.no_grad(); replies the median seconds
  train BATCH N         N training steps (forward, mean-square loss, backward, AdamW); replies the median seconds
  parity WEIGHTS IO     loads WEIGHTS (safetensors) into a fresh copy of the current model, runs IO's `input` in eval
                        mode and replies `name=max_abs_diff ...` against every other tensor in IO, matched to an
                        output by the part of its name after the last '/'
  quit
"""
import argparse
import gc
import json
import statistics
import struct
import sys
import time

import torch

import pose_models

SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
OUTPUT_NAMES = {"rtmpose-t": ("simcc_x", "simcc_y"), "rtmpose-m": ("simcc_x", "simcc_y"), "vitpose-s": ("heatmaps",)}


def read_safetensors(path):
    """The file is: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, raw bytes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        raw = bytearray(body[start:end])  # writable copy: frombuffer would otherwise warn about a read-only buffer
        t = torch.frombuffer(raw, dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors


class Bench:
    def __init__(self, height, width):
        self.h, self.w = height, width
        self.name = None
        self.net = None
        self.opt = None
        self.inputs = {}

    def build(self, name):
        self.net = self.opt = None
        self.inputs = {}
        gc.collect()
        torch.manual_seed(0)
        self.name = name
        self.net = pose_models.build(name)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=1e-3, weight_decay=0.05)
        params = sum(p.numel() for p in self.net.parameters())
        return f"ok {params} {len(self.net.state_dict())}"

    def input(self, batch):
        if batch not in self.inputs:
            self.inputs[batch] = torch.randn(batch, 3, self.h, self.w)
        return self.inputs[batch]

    def forward(self, batch):
        x = self.input(batch)
        self.net.eval()
        with torch.no_grad():
            self.net(x)

    def train(self, batch):
        x = self.input(batch)
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        outs = self.net(x)
        loss = outs[0].square().mean()
        for o in outs[1:]:
            loss = loss + o.square().mean()
        loss.backward()
        self.opt.step()

    def parity(self, weights, io):
        torch.manual_seed(0)
        net = pose_models.build(self.name)
        net.load_state_dict(read_safetensors(weights), strict=True)
        net.eval()
        tensors = read_safetensors(io)
        with torch.no_grad():
            outs = dict(zip(OUTPUT_NAMES[self.name], net(tensors.pop("input"))))
        return " ".join(f"{k}={(v - outs[k.split('/')[-1]]).abs().max().item():.3e}" for k, v in tensors.items())


def timed(fn, n):
    """Median wall-clock seconds of n runs."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return str(statistics.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=192)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = Bench(args.height, args.width)
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        cmd = parts[0]
        try:
            if cmd == "build":
                reply = bench.build(parts[1])
            elif cmd == "forward":
                reply = timed(lambda: bench.forward(int(parts[1])), int(parts[2]))
            elif cmd == "train":
                reply = timed(lambda: bench.train(int(parts[1])), int(parts[2]))
            elif cmd == "parity":
                reply = bench.parity(parts[1], parts[2])
            else:
                reply = f"error unknown command {cmd}"
        except Exception as e:  # reported to the C# side, which stops with the message
            reply = f"error {type(e).__name__}: {e}".replace("\n", " ")
        print(reply, flush=True)


if __name__ == "__main__":
    main()
