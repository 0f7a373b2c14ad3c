"""PyTorch side of `distill bench --suite ddp`: one DistributedDataParallel worker on Gloo.

Started once per rank with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and driven over stdin
like bench_kd.py, one command per line and one reply line each. The C# side sends every command that communicates to
all ranks before it reads their replies. The step is bench_kd.py's student step (forward, loss, backward, gradient
clipping, AdamW) with the student wrapped in DDP as a PyTorch user does it: default buckets, no buffer broadcast (each
worker keeps its own BatchNorm statistics, as mmengine configures DDP).

  load SPEC        joins the group, builds the step from SPEC (bench_kd.py's format, this rank's batch); replies `ok`
  step_values      one step; `name=value ...` of its loss terms and their sum `loss`, then `weights=` the sum of |w|
                   over the student's parameters after the step
  step N           a barrier, then N steps; replies the wall-clock seconds of each, `|`, and the CPU seconds of each
                   (all threads of the process)
  sync N           N times a backward whose gradients all appear at once (the sum of every entry of tensors shaped like
                   the student's parameters), reduced by DDP, and the same backward under no_sync; replies the two
                   lists of seconds separated by `|`
  allreduce E N    N all-reduces (SUM) of one float32 tensor of E elements; replies the seconds of each
  quit
"""
import argparse
import datetime
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from bench_kd import KdBench


class ParameterSet(torch.nn.Module):
    """Tensors shaped like the given parameters, in their order; forward sums all their entries."""

    def __init__(self, params):
        super().__init__()
        self.tensors = torch.nn.ParameterList([torch.nn.Parameter(p.detach().clone()) for p in params])

    def forward(self):
        total = None
        for p in self.tensors:
            total = p.sum() if total is None else total + p.sum()
        return total


def seconds(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class Worker:
    def __init__(self, spec_path):
        self.bench = KdBench(spec_path)
        self.bench.student = DistributedDataParallel(self.bench.student, broadcast_buffers=False)
        self.params = [p for p in self.bench.student.parameters() if p.requires_grad]
        self.shadow = None

    def step_values(self):
        values = self.bench.step()
        values["weights"] = sum(p.detach().double().abs().sum().item() for p in self.params)
        return " ".join(f"{k}={v!r}" for k, v in values.items())

    def steps(self, n):
        dist.barrier()
        wall, cpu = [], []
        for _ in range(n):
            c0 = time.process_time()
            wall.append(seconds(self.bench.step))
            cpu.append(time.process_time() - c0)
        return " ".join(map(repr, wall)) + " | " + " ".join(map(repr, cpu))

    def sync(self, n):
        if self.shadow is None:
            self.shadow = DistributedDataParallel(ParameterSet(self.params), broadcast_buffers=False)
        armed, local = [], []
        for i in range(n + 2):  # two rounds first: DDP re-buckets in gradient order after its first iteration
            loss = self.shadow()
            dist.barrier()
            a = seconds(loss.backward)
            self.shadow.zero_grad(set_to_none=True)
            with self.shadow.no_sync():
                loss = self.shadow()
                dist.barrier()
                b = seconds(loss.backward)
            self.shadow.zero_grad(set_to_none=True)
            if i >= 2:
                armed.append(a)
                local.append(b)
        return " ".join(map(repr, armed)) + " | " + " ".join(map(repr, local))


def allreduce(numel, n):
    flat = torch.zeros(numel, dtype=torch.float32)
    times = []
    for i in range(n + 1):  # one round first
        dist.barrier()
        t = seconds(lambda: dist.all_reduce(flat))
        if i > 0:
            times.append(t)
    return " ".join(map(repr, times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    worker = None
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        cmd = parts[0]
        try:
            if cmd == "load":
                dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=args.timeout))
                worker = Worker(parts[1])
                reply = "ok"
            elif cmd == "step_values":
                reply = worker.step_values()
            elif cmd == "step":
                reply = worker.steps(int(parts[1]))
            elif cmd == "sync":
                reply = worker.sync(int(parts[1]))
            elif cmd == "allreduce":
                reply = allreduce(int(parts[1]), int(parts[2]))
            else:
                reply = f"error unknown command {cmd}"
        except Exception as e:  # reported to the C# side, which stops with the message
            reply = f"error {type(e).__name__}: {e}".replace("\n", " ")
        print(reply, flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
