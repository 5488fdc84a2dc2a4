#!/usr/bin/env python3
"""The straightforward PyTorch implementation of Circ's training step.

What a PyTorch user writes for the paper's weight-sparse transformer: dense
weights, RMSNorm, AbsTopK at the eight node locations of every layer, causal
attention, GELU MLP, a bigram logit table, cross-entropy; then the optimizer
step in the paper's order: gradient divided by its global RMS (+1e-5), AdamW
(beta 0.9/0.95, eps 0.1, weight decay 0.1 on the matrices but not the bigram
table), and a per-matrix top-k projection (|w| top-k over the whole matrix,
plus the 4 largest of every neuron/channel) that zeroes the pruned weights.
Shapes and budgets are those of circ_bench (config (a) and (c), batch 16 x
ctx 256, 4 heads, vocab 2048).

Prints one "name value unit" line per figure, as circ_bench does:
torch_train_<c>_tokens_per_s, torch_forward_<c>_tokens_per_s,
torch_topk_<c>_ms (the projection of all matrices, part of the step).
Usage: pytorch_step.py [--quick] [a] [c]
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

BATCH, CTX, VOCAB, LAYERS, HEADS = 16, 256, 2048, 4, 4
CONFIGS = {
    "a": dict(d_model=256, d_mlp=1024, density=1 / 64),
    "c": dict(d_model=1024, d_mlp=4096, density=1 / 1000),
}
MIN_PER_UNIT = 4


def report(name, value, unit):
    print(f"{name} {value:.6g} {unit}", flush=True)


class Model(torch.nn.Module):
    def __init__(self, d_model, d_mlp):
        super().__init__()
        self.d = d_model
        std = 0.02
        proj_std = 0.02 / math.sqrt(2 * LAYERS)
        p = lambda *shape, s: torch.nn.Parameter(torch.randn(*shape) * s)
        self.wte = p(VOCAB, d_model, s=std)
        self.bigram = torch.nn.Parameter(torch.zeros(VOCAB, VOCAB))
        self.layers = torch.nn.ModuleList()
        for _ in range(LAYERS):
            layer = torch.nn.Module()
            layer.ln_1 = torch.nn.Parameter(torch.ones(d_model))
            layer.c_attn = p(3 * d_model, d_model, s=std)
            layer.c_attn_b = torch.nn.Parameter(torch.zeros(3 * d_model))
            layer.attn_proj = p(d_model, d_model, s=proj_std)
            layer.attn_proj_b = torch.nn.Parameter(torch.zeros(d_model))
            layer.ln_2 = torch.nn.Parameter(torch.ones(d_model))
            layer.c_fc = p(d_mlp, d_model, s=std)
            layer.c_fc_b = torch.nn.Parameter(torch.zeros(d_mlp))
            layer.mlp_proj = p(d_model, d_mlp, s=proj_std)
            layer.mlp_proj_b = torch.nn.Parameter(torch.zeros(d_model))
            self.layers.append(layer)
        self.ln_f = torch.nn.Parameter(torch.ones(d_model))
        self.lm_head = p(VOCAB, d_model, s=std)
        causal = torch.ones(CTX, CTX, dtype=torch.bool).tril()
        self.register_buffer("causal", causal)

    def sparse_matrices(self):
        """(weight, along) of every projected matrix: the dimension along
        which each unit's 4 largest are kept (1: a unit is a row, the paper's
        neuron inputs; 0: a column, a channel's outputs), None for the
        embeddings."""
        out = [(self.wte, None), (self.lm_head, None)]
        for l in self.layers:
            out += [(l.c_attn, 1), (l.attn_proj, 0), (l.c_fc, 1),
                    (l.mlp_proj, 0)]
        return out

    @staticmethod
    def rmsnorm(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    @staticmethod
    def abstopk(x):
        k = x.shape[-1] // 4
        idx = x.abs().topk(k, dim=-1).indices
        return torch.zeros_like(x).scatter(-1, idx, x.gather(-1, idx))

    def forward(self, tokens):
        b, t = tokens.shape
        dh = self.d // HEADS
        x = self.wte[tokens]
        for l in self.layers:
            h = self.abstopk(self.rmsnorm(x, l.ln_1))
            q, k, v = F.linear(h, l.c_attn, l.c_attn_b).split(self.d, dim=-1)
            q, k, v = (self.abstopk(z).view(b, t, HEADS, dh).transpose(1, 2)
                       for z in (q, k, v))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            s = s.masked_fill(~self.causal[:t, :t], float("-inf"))
            y = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, self.d)
            x = x + self.abstopk(F.linear(y, l.attn_proj, l.attn_proj_b))
            h = self.abstopk(self.rmsnorm(x, l.ln_2))
            h = self.abstopk(F.gelu(F.linear(h, l.c_fc, l.c_fc_b)))
            x = x + self.abstopk(F.linear(h, l.mlp_proj, l.mlp_proj_b))
        logits = F.linear(self.rmsnorm(x, self.ln_f), self.lm_head)
        return logits + self.bigram[tokens]


def budget(w, along, density):
    units = 0 if along is None else w.shape[1 - along]
    return min(w.numel(), max(round(density * w.numel()), MIN_PER_UNIT * units))


@torch.no_grad()
def project(model, density):
    """Top-k of |w| per matrix plus the top 4 of every unit; zero the rest."""
    for w, along in model.sparse_matrices():
        k = budget(w, along, density)
        mask = torch.zeros(w.numel(), dtype=torch.bool)
        mask[w.abs().flatten().topk(k, sorted=False).indices] = True
        mask = mask.view_as(w)
        if along is not None:
            top = w.abs().topk(MIN_PER_UNIT, dim=along).indices
            mask.scatter_(along, top, True)
        w.mul_(mask)


def train_step(model, opt, tokens, targets, density):
    opt.zero_grad(set_to_none=False)
    logits = model(tokens)
    loss = F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
    loss.backward()
    with torch.no_grad():
        grads = [p.grad for p in model.parameters()]
        n = sum(g.numel() for g in grads)
        rms = torch.sqrt(sum(g.pow(2).sum() for g in grads) / n)
        for g in grads:
            g.div_(rms + 1e-5)
    opt.step()
    t0 = time.perf_counter()
    project(model, density)
    return loss.item(), time.perf_counter() - t0


def bench(tag, quick):
    cfg = CONFIGS[tag]
    torch.manual_seed(0)
    model = Model(cfg["d_model"], cfg["d_mlp"])
    matrices = {id(w) for w, _ in model.sparse_matrices()}
    decay = [p for p in model.parameters()
             if p.dim() == 2 and p is not model.bigram]
    rest = [p for p in model.parameters()
            if not (p.dim() == 2 and p is not model.bigram)]
    assert all(id(p) in matrices for p in decay)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1},
         {"params": rest, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.95), eps=0.1)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, VOCAB, (BATCH, CTX), generator=g)
    targets = torch.randint(0, VOCAB, (BATCH, CTX), generator=g)
    project(model, cfg["density"])
    reps = 1 if quick else (3 if tag == "a" else 2)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    # Wall time, and the CPU time of all threads (steadier on a shared
    # machine, where wall time includes waiting for a core).
    steps, cpus, topks = [], [], []
    for r in range(reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        loss, topk = train_step(model, opt, tokens, targets, cfg["density"])
        if r > 0:  # the first step allocates the Adam state
            steps.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            topks.append(topk)
    step = med(steps)
    report(f"torch_train_{tag}_tokens_per_s", BATCH * CTX / step, "tok/s")
    report(f"torch_train_{tag}_step_ms", step * 1e3, "ms")
    report(f"torch_train_{tag}_step_cpu_ms", med(cpus) * 1e3, "ms")
    report(f"torch_topk_{tag}_ms", med(topks) * 1e3, "ms")
    report(f"torch_train_{tag}_loss", loss, "nats")
    fwd, fwd_cpu = [], []
    with torch.no_grad():
        for r in range(reps + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            model(tokens)
            if r > 0:
                fwd.append(time.perf_counter() - t0)
                fwd_cpu.append(time.process_time() - c0)
    t = med(fwd)
    report(f"torch_forward_{tag}_tokens_per_s", BATCH * CTX / t, "tok/s")
    report(f"torch_forward_{tag}_ms", t * 1e3, "ms")
    report(f"torch_forward_{tag}_cpu_ms", med(fwd_cpu) * 1e3, "ms")


def main(argv):
    quick = "--quick" in argv
    tags = [a for a in argv if a in CONFIGS] or list(CONFIGS)
    unknown = [a for a in argv if a not in CONFIGS and a != "--quick"]
    if unknown:
        sys.exit(f"usage: pytorch_step.py [--quick] [a] [c] (got {unknown})")
    torch.set_num_threads(int(os.environ.get("CIRC_NUM_THREADS",
                                             os.cpu_count())))
    report("torch_threads", torch.get_num_threads(), "threads")
    report("torch_version_major_minor",
           float(".".join(torch.__version__.split(".")[:2])), "version")
    for tag in tags:
        bench(tag, quick)


if __name__ == "__main__":
    main(sys.argv[1:])
