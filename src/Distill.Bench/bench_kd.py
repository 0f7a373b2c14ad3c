"""PyTorch side of `distill bench --suite kd`, driven over stdin (one command per line, one reply line each).

The loop a user of a PyTorch distillation framework writes for the typical run: frozen teachers in eval() under
torch.no_grad() (default memory format, BatchNorm kept), their SimCC distributions mapped into the student's bins
through the crop geometry, the student in train(), the SimCC ground-truth loss plus logit KD per teacher, backward,
gradient clipping and AdamW on the student.

  load SPEC       reads SPEC (JSON written by the C# side: models, weight files, the fixed batch, loss and optimizer
                  settings), builds everything; replies `ok`
  step_values     one step; replies `name=value ...` for every loss term and their sum `loss`
  masks           per teacher, `name=count` of (sample, keypoint) pairs whose KD mask is 1
  step N          N steps; replies the median wall-clock seconds and the median CPU seconds (all threads)
  reset_peak      resets this process's peak RSS (VmHWM); replies `ok`, or `unsupported` when the kernel refuses
  peak            replies VmHWM in kB
  quit
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import pose_models
from bench_models import read_safetensors


def transfer(prob, a, b, student_bins, student_ratio, teacher_ratio):
    """Teacher distributions (B, K, T) over teacher bins -> (B, K, S) over student bins, and the mass inside the view.

    Per sample, student pixel s is teacher pixel a * s + b. Every student bin takes the teacher's density at its
    teacher position by linear interpolation (nothing from beyond the teacher's bins), then each row is renormalised.
    The inside mass is the share of teacher probability whose position falls within the student's bins.
    """
    batch, k, teacher_bins = prob.shape
    s = torch.arange(student_bins, dtype=torch.float32).view(1, -1)
    pos = (a.view(-1, 1) * (s / student_ratio) + b.view(-1, 1)) * teacher_ratio  # teacher bin of each student bin
    left = pos.floor()
    w_right = (pos - left).unsqueeze(1)
    lo = left.long()
    hi = lo + 1

    def pick(idx):
        valid = ((idx >= 0) & (idx < teacher_bins)).unsqueeze(1).to(prob.dtype)
        index = idx.clamp(0, teacher_bins - 1).unsqueeze(1).expand(batch, k, student_bins)
        return prob.gather(2, index) * valid

    density = pick(lo) * (1 - w_right) + pick(hi) * w_right
    mapped = density / density.sum(2, keepdim=True).clamp_min(1e-12)
    t = torch.arange(teacher_bins, dtype=torch.float32).view(1, -1)
    back = (t / teacher_ratio - b.view(-1, 1)) / a.view(-1, 1) * student_ratio  # student bin of each teacher bin
    in_view = ((back >= -0.5) & (back <= student_bins - 0.5)).to(prob.dtype).unsqueeze(1)
    return mapped, (prob * in_view).sum(2)


def gt_loss(pred, label, weight, beta, label_softmax, use_target_weight):
    """RTMPose's SimCC loss for one axis: per (sample, keypoint) KL averaged over bins, weighted, summed."""
    bins = pred.shape[-1]
    log_p = F.log_softmax(pred.reshape(-1, bins) * beta, dim=1)
    target = F.softmax(label.reshape(-1, bins) * beta, dim=1) if label_softmax else label.reshape(-1, bins)
    per_row = F.kl_div(log_p, target, reduction="none").mean(1)
    if use_target_weight:
        per_row = per_row * weight.reshape(-1)
    return per_row.sum()


def kd_loss(student_x, student_y, teacher_x, teacher_y, mask, beta):
    """DWPose logit KD: KL(teacher || student) summed over bins, x + y, summed over K, mean over the batch, / K."""
    def per_keypoint(student, teacher):
        return F.kl_div(F.log_softmax(student * beta, dim=-1), teacher, reduction="none").sum(-1)

    both = per_keypoint(student_x, teacher_x) + per_keypoint(student_y, teacher_y)
    if mask is not None:
        both = both * mask
    return both.sum(1).mean() / student_x.shape[1]


def load_model(spec):
    net = pose_models.build(spec["model"], spec["keypoints"], tuple(spec["input_size"]))
    net.load_state_dict(read_safetensors(spec["weights"]), strict=True)
    params = sum(p.numel() for p in net.parameters())
    if params != spec["params"]:
        raise ValueError(f"{spec['model']}: {params} parameters here, {spec['params']} in Distill")
    return net


class Teacher:
    def __init__(self, spec, batch, index):
        self.name = spec["name"]
        self.net = load_model(spec).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.ratio = spec["split_ratio"]
        self.weight = spec["kd_weight"]
        self.input = batch[f"teacher_input/{index}"]
        m = batch[f"student_to_teacher/{index}"].float()  # (B, 2, 3); both crops share rotation: axis-aligned
        self.ax, self.bx, self.ay, self.by = m[:, 0, 0], m[:, 0, 2], m[:, 1, 1], m[:, 1, 2]
        order = torch.tensor(spec["teacher_index"], dtype=torch.long)
        self.index = order.clamp_min(0)
        self.known = (order >= 0).float()

    def targets(self, student_bins, student_ratio, beta):
        """Teacher distributions in the student's keypoints and bins, and the (B, K) KD mask."""
        with torch.no_grad():
            tx, ty = self.net(self.input)
            px, ix = transfer(F.softmax(tx * beta, -1), self.ax, self.bx, student_bins[0], student_ratio, self.ratio)
            py, iy = transfer(F.softmax(ty * beta, -1), self.ay, self.by, student_bins[1], student_ratio, self.ratio)
            known = self.known.view(1, -1)
            px = px.index_select(1, self.index) * known.unsqueeze(-1)
            py = py.index_select(1, self.index) * known.unsqueeze(-1)
            inside_x = ix.index_select(1, self.index) * known
            inside_y = iy.index_select(1, self.index) * known
            mask = ((inside_x >= 0.5) & (inside_y >= 0.5)).float()
        return px, py, mask


class KdBench:
    def __init__(self, spec_path):
        with open(spec_path) as f:
            spec = json.load(f)
        batch = read_safetensors(spec["batch"])
        s = spec["student"]
        self.student = load_model(s)
        self.ratio = s["split_ratio"]
        self.bins = (int(s["input_size"][0] * self.ratio), int(s["input_size"][1] * self.ratio))
        self.teachers = [Teacher(t, batch, i) for i, t in enumerate(spec["teachers"])]
        self.input = batch["student_input"]
        self.label_x = batch["keypoint_x_labels"]
        self.label_y = batch["keypoint_y_labels"]
        self.weights = batch["keypoint_weights"]
        self.gt = spec["gt"]
        self.kd = spec["kd"]
        o = spec["optimizer"]
        params = [p for p in self.student.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() > 1], "weight_decay": o["weight_decay"]},
                  {"params": [p for p in params if p.dim() <= 1], "weight_decay": o["no_decay_weight_decay"]}]
        self.opt = torch.optim.AdamW(groups, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
        self.clip = (o["clip_max_norm"], o["clip_norm_type"]) if o["clip_max_norm"] is not None else None

    def step(self):
        targets = [t.targets(self.bins, self.ratio, self.kd["beta"]) for t in self.teachers]
        self.student.train()
        self.opt.zero_grad(set_to_none=True)
        sx, sy = self.student(self.input)
        g = self.gt
        k = sx.shape[1]
        gt = (gt_loss(sx, self.label_x, self.weights, g["beta"], g["label_softmax"], g["use_target_weight"])
              + gt_loss(sy, self.label_y, self.weights, g["beta"], g["label_softmax"], g["use_target_weight"])) / k
        terms = {"loss_kpt": gt * g["weight"]}
        for t, (px, py, mask) in zip(self.teachers, targets):
            m = mask if self.kd["mask_unknown"] else None
            terms[f"loss_kd/{t.name}"] = kd_loss(sx, sy, px, py, m, self.kd["beta"]) * t.weight
        values = {name: v.item() for name, v in terms.items()}  # what a training loop logs
        values["loss"] = sum(values.values())
        sum(terms.values()).backward()
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.student.parameters(), self.clip[0], self.clip[1])
        self.opt.step()
        return values


def peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "ok"
    except OSError:
        return "unsupported"


def timed(fn, n):
    """Median wall-clock and median CPU seconds (every thread of the process) of n runs."""
    wall, cpu = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return f"{statistics.median(wall)!r} {statistics.median(cpu)!r}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = None
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        cmd = parts[0]
        try:
            if cmd == "load":
                bench = KdBench(parts[1])
                reply = "ok"
            elif cmd == "step_values":
                reply = " ".join(f"{k}={v!r}" for k, v in bench.step().items())
            elif cmd == "masks":
                reply = " ".join(f"{t.name}={int(t.targets(bench.bins, bench.ratio, bench.kd['beta'])[2].sum())}" for t in bench.teachers)
            elif cmd == "step":
                reply = timed(bench.step, int(parts[1]))
            elif cmd == "reset_peak":
                reply = reset_peak()
            elif cmd == "peak":
                reply = str(peak_rss_kb())
            else:
                reply = f"error unknown command {cmd}"
        except Exception as e:  # reported to the C# side, which stops with the message
            reply = f"error {type(e).__name__}: {e}".replace("\n", " ")
        print(reply, flush=True)


if __name__ == "__main__":
    main()
