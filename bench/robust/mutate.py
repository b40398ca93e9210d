#!/usr/bin/env python3
"""Damaged-media sweep (docs/robustness.md, session 20).

usage: bench/robust/mutate.py UNMASK SEEDS_DIR OUT_DIR [N per seed, 20] [random seed, 1]

Every file of SEEDS_DIR is damaged N ways (cut, bits flipped in the headers, bytes overwritten,
a chunk zeroed, a piece spliced out, a run of 0xff) and `probe --json`, `scan --json --fast`, for MP4 and
pictures `mark verify --json`, and for videos `faces --json` run on each copy. A case fails on an exit code outside
the contract (0, 2, 3, 4), a signal, a hang (600 s), a sanitizer report, a failure without its
`unmask: error:` line, or --json output that is not JSON. Failing copies are kept in OUT_DIR with
their stderr; the others are removed. $MODELS is the models folder (default: models).
"""
import os, random, subprocess, sys, json, time

if len(sys.argv) < 4:
    sys.exit(__doc__)
BIN = sys.argv[1]
SEEDS = sys.argv[2]
OUT = sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 20
SEED = int(sys.argv[5]) if len(sys.argv) > 5 else 1
MODELS = os.environ.get("MODELS", "models")
rng = random.Random(SEED)
os.makedirs(OUT, exist_ok=True)

def mutate(data, kind):
    b = bytearray(data)
    n = len(b)
    if kind == "truncate":
        return bytes(b[: max(1, int(n * rng.choice([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.97])))])
    if kind == "flip_header":
        for _ in range(rng.choice([1, 4, 16])):
            i = rng.randrange(min(n, 4096)); b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == "flip_body":
        for _ in range(rng.choice([1, 10, 100, 1000])):
            i = rng.randrange(n); b[i] = rng.randrange(256)
        return bytes(b)
    if kind == "zero_chunk":
        i = rng.randrange(n); L = rng.choice([16, 512, 4096, 65536])
        b[i:i + L] = bytes(min(L, n - i))
        return bytes(b)
    if kind == "splice":
        i = rng.randrange(n); j = rng.randrange(n)
        return bytes(b[:i] + b[j:])
    if kind == "ff_run":
        i = rng.randrange(min(n, 8192)); L = rng.choice([4, 8, 64])
        b[i:i + L] = b"\xff" * min(L, n - i)
        return bytes(b)
    raise ValueError(kind)

KINDS = ["truncate", "flip_header", "flip_body", "zero_chunk", "splice", "ff_run"]

def commands(path, ext):
    yield ["probe", path, "--json"]
    yield ["scan", path, "--json", "--fast", "--quiet", "--models", MODELS]
    if ext in (".mp4", ".png", ".jpg"):
        yield ["mark", "verify", path, "--json"]
    if ext in (".mp4", ".mpg", ".webm"):
        yield ["faces", path, "--out", os.path.join(OUT, "faces-out"), "--json"]

bad = []
count = 0
seeds = sorted(os.listdir(SEEDS))
for seed in seeds:
    data = open(os.path.join(SEEDS, seed), "rb").read()
    ext = os.path.splitext(seed)[1]
    for k in range(N):
        kind = KINDS[k % len(KINDS)]
        m = mutate(data, kind)
        path = os.path.join(OUT, f"{os.path.splitext(seed)[0]}-{SEED}-{k}-{kind}{ext}")
        open(path, "wb").write(m)
        keep = False
        for cmd in commands(path, ext):
            t0 = time.time()
            try:
                p = subprocess.run([BIN] + cmd, capture_output=True, timeout=600,
                                   env=dict(os.environ, UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
                                            ASAN_OPTIONS="detect_leaks=1"))
                rc, err, out = p.returncode, p.stderr.decode(errors="replace"), p.stdout.decode(errors="replace")
            except subprocess.TimeoutExpired:
                rc, err, out = "timeout", "", ""
            dt = time.time() - t0
            count += 1
            problem = None
            if rc not in (0, 2, 3, 4):
                problem = f"exit {rc}"
            elif "ERROR: AddressSanitizer" in err or "runtime error:" in err or "LeakSanitizer" in err:
                problem = "sanitizer"
            elif rc != 0:
                lines = [l for l in err.splitlines() if l.startswith("unmask: error: ")]
                if not lines:
                    problem = "no contract error line"
            elif "--json" in cmd:
                try:
                    json.loads(out)
                except Exception:
                    problem = "stdout not JSON"
            tag = problem or "ok"
            print(f"{tag:24} rc={rc} {dt:6.1f}s {' '.join(cmd[:2])} {os.path.basename(path)} | "
                  f"{(err.strip().splitlines() or [''])[-1][:150]}", flush=True)
            if problem:
                keep = True
                bad.append((problem, cmd, path))
                open(path + "." + cmd[0] + ".err", "w").write(err)
        if not keep:
            os.remove(path)
print(f"\n{count} runs, {len(bad)} problems", flush=True)
for p in bad:
    print("PROBLEM", p)
