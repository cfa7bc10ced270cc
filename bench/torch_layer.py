#!/usr/bin/env python3
"""One decoder layer of each named model through PyTorch, for comparison
with gatesim's CUDA kernels (bench/kernels.sh, docs/kernels.md).

The layer is the one kernels/kernels.h defines, written the way a PyTorch
serving stack would: bf16 weights and activations, torch.matmul for the
products, torch.nn.functional.scaled_dot_product_attention for attention
(causal for prefill; decode attends over the KV cache), RMSNorm, rotary
embedding (half-split), SwiGLU, and for MoE a softmax router with top-k and
a loop over experts with index_add_. Times are CUDA-event medians of 10
runs after 3 warm-ups. The shapes follow gs_bench_shape() in
kernels/bench.c and the named shapes kernels/model.c (kept in step by
hand). Needs a CUDA GPU; prints one line per (model, phase):

    torch MODEL PHASE BATCH TOKENS MS
"""
import argparse
import sys

import torch
import torch.nn.functional as F

# name: (d_model, heads, kv_heads, head_dim, d_ff, experts, top_k, shared, expert_ff)
MODELS = {
    "deepseek-mini": (1024, 16, 4, 64, 2816, 8, 2, 1, 704),
    "llama2-7b": (4096, 32, 32, 128, 11008, 0, 0, 0, 0),
    "mistral-7b": (4096, 32, 8, 128, 14336, 0, 0, 0, 0),
    "deepseek-moe-16b": (2048, 16, 16, 128, 10944, 64, 6, 2, 1408),
}


def bench_shape(d_model, phase, size):
    if size == "large":
        return (32, 2048) if phase == "decode" else (1, 2048)
    big = d_model * d_model > 4e6
    if phase == "decode":
        return (4, 512) if big else (16, 1024)
    return (1, 128) if big else (1, 1024)


def rmsnorm(x, g):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5) * g).to(x.dtype)


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)


class Layer:
    def __init__(self, shape, max_batch, max_tokens, dev):
        d, h, kvh, hd, dff, e, k, s, eff = shape
        self.shape = shape
        bf = torch.bfloat16

        def w(i, o):
            return (torch.rand(i, o, device=dev, dtype=torch.float32) * 2 - 1).mul_(
                (3.0 / i) ** 0.5).to(bf)

        self.wqkv = w(d, (h + 2 * kvh) * hd)
        self.wo = w(h * hd, d)
        self.g1 = torch.ones(d, device=dev)
        self.g2 = torch.ones(d, device=dev)
        if e:
            self.gate = w(d, e)
            self.ew13 = [w(d, 2 * eff) for _ in range(e)]
            self.ew2 = [w(eff, d) for _ in range(e)]
            self.sw13 = w(d, 2 * s * eff) if s else None
            self.sw2 = w(s * eff, d) if s else None
        else:
            self.w13 = w(d, 2 * dff)
            self.w2 = w(dff, d)
        self.kc = torch.randn(max_batch, kvh, max_tokens, hd, device=dev, dtype=bf)
        self.vc = torch.randn(max_batch, kvh, max_tokens, hd, device=dev, dtype=bf)
        inv = 10000.0 ** (-torch.arange(0, hd // 2, device=dev, dtype=torch.float64) * 2 / hd)
        ang = torch.arange(max_tokens, device=dev, dtype=torch.float64)[:, None] * inv[None, :]
        self.cos = ang.cos().to(bf)
        self.sin = ang.sin().to(bf)

    def swiglu(self, x, w13, w2):
        u = torch.matmul(x, w13)
        f = u.shape[-1] // 2
        return torch.matmul(F.silu(u[..., :f]) * u[..., f:], w2)

    def ffn(self, h):
        d, _, _, _, _, e, k, s, _ = self.shape
        if not e:
            return self.swiglu(h, self.w13, self.w2)
        flat = h.reshape(-1, d)
        probs = torch.softmax(torch.matmul(flat, self.gate).float(), dim=-1)
        wts, idx = probs.topk(k, dim=-1)
        out = self.swiglu(flat, self.sw13, self.sw2) if s else torch.zeros_like(flat)
        for x in range(e):
            tok, slot = (idx == x).nonzero(as_tuple=True)
            if tok.numel():
                y = self.swiglu(flat[tok], self.ew13[x], self.ew2[x])
                out.index_add_(0, tok, (y.float() * wts[tok, slot, None]).to(out.dtype))
        return out.reshape(h.shape)

    def forward(self, x, phase, b, t):
        d, h, kvh, hd = self.shape[:4]
        hn = rmsnorm(x, self.g1)
        qkv = torch.matmul(hn, self.wqkv)
        n = x.shape[1]
        q = qkv[..., : h * hd].view(b, n, h, hd).transpose(1, 2)
        k = qkv[..., h * hd: (h + kvh) * hd].view(b, n, kvh, hd).transpose(1, 2)
        v = qkv[..., (h + kvh) * hd:].view(b, n, kvh, hd).transpose(1, 2)
        if phase == "prefill":
            cos, sin = self.cos[:t], self.sin[:t]
        else:
            cos, sin = self.cos[t - 1: t], self.sin[t - 1: t]
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if phase == "prefill":
            self.kc[:b, :, :t] = k
            self.vc[:b, :, :t] = v
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=h != kvh)
        else:
            self.kc[:b, :, t - 1: t] = k
            self.vc[:b, :, t - 1: t] = v
            a = F.scaled_dot_product_attention(q, self.kc[:b, :, :t], self.vc[:b, :, :t],
                                               enable_gqa=h != kvh)
        x2 = x + torch.matmul(a.transpose(1, 2).reshape(b, n, h * hd), self.wo)
        return x2 + self.ffn(rmsnorm(x2, self.g2))


def time_ms(fn, warm=3, reps=10):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        a, z = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        z.record()
        z.synchronize()
        ts.append(a.elapsed_time(z))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=("small", "large"), default="small")
    ap.add_argument("--model", default="all")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_layer.py: no CUDA device", file=sys.stderr)
        return 77
    dev = torch.device("cuda")
    names = list(MODELS) if args.model == "all" else [args.model]
    with torch.inference_mode():
        for name in names:
            shape = MODELS[name]
            shapes = {p: bench_shape(shape[0], p, args.size) for p in ("decode", "prefill")}
            mb = max(s[0] for s in shapes.values())
            mt = max(s[1] for s in shapes.values())
            layer = Layer(shape, mb, mt, dev)
            for phase in ("decode", "prefill"):
                b, t = shapes[phase]
                n = t if phase == "prefill" else 1
                x = torch.randn(b, n, shape[0], device=dev, dtype=torch.bfloat16)
                ms = time_ms(lambda: layer.forward(x, phase, b, t))
                print(f"torch {name} {phase} {b} {t} {ms:.3f}", flush=True)
            del layer
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
