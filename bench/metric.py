#!/usr/bin/env python3
"""Separable embeddings and search, measured (issue 20). Writes bench/results/metric.md.

Runs the built CLI and Protea.Bench as whole processes, with Debian PyTorch as the reference in the
same run. Sizes can be reduced when CPU time is short: METRIC_EPOCHS (default 4), METRIC_QUERIES
(default 10000), METRIC_LIMIT (train on N images; default all 60,000), METRIC_REUSE=1 (reuse the models
already trained in /tmp/protea-metric-runs: their metrics.json gives accuracy and wall time). Usage: python3 bench/metric.py   (or: make bench-metric)
"""
import datetime, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
# METRIC_CLI: a copy of the built CLI, so the tree can be rebuilt while a long run goes on.
CLI = ["dotnet", os.environ.get("METRIC_CLI", "src/Protea.Cli/bin/Release/net10.0/Protea.Cli.dll")]
BENCH = ["dotnet", "bench/Protea.Bench/bin/Release/net10.0/Protea.Bench.dll"]
OUT = "/tmp/protea-metric-runs"
EPOCHS = int(os.environ.get("METRIC_EPOCHS", "4"))
QUERIES = int(os.environ.get("METRIC_QUERIES", "10000"))
LIMIT = os.environ.get("METRIC_LIMIT")  # train on a seeded subset of N images (reduced runs)
THREADS = 2

def log(msg):
    print(f"[metric {datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

def run(cmd, env=None):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if p.returncode != 0:
        sys.exit(f"metric: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout, time.perf_counter() - start

def last_json(text):
    """The last JSON object printed (one line, or pretty-printed from a line that is just '{')."""
    lines = text.splitlines()
    for i in reversed(range(len(lines))):
        if lines[i].startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except json.JSONDecodeError:
                continue
    raise ValueError(f"no JSON object in: {text[-500:]}")

def trained(cmd, folder):
    """Runs a training command, or with METRIC_REUSE=1 reuses the run folder it already wrote (its metrics.json)."""
    if os.environ.get("METRIC_REUSE") == "1" and os.path.exists(f"{folder}/metrics.json"):
        log(f"reusing {folder}")
        m = json.load(open(f"{folder}/metrics.json"))
        return m, m["wall_seconds"]
    out, wall = run(cmd)
    return last_json(out), wall

def cpu_line():
    info = open("/proc/cpuinfo").read()
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name} ({isa}), {os.cpu_count()} CPUs visible"

TORCH_SEARCH = """
import sys, time, json, torch
torch.set_num_threads(int(sys.argv[4]))
g = torch.Generator().manual_seed(7)
n, d, q = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
index = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
queries = torch.randn(q, d, generator=g)
def search():
    qs = torch.nn.functional.normalize(queries, dim=1)
    for s in range(0, q, 1000):
        torch.topk(qs[s:s + 1000] @ index.T, 10, dim=1)
search()
best = 1e9
for _ in range(3):
    t = time.perf_counter(); search(); best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best}))
"""

def main():
    """METRIC_ONLY=models: train/index/retrieve/distill/infer only; METRIC_ONLY=search: the search speed only;
    default both. Each part's results are kept in OUT/<part>.json, and the results file shows the latest of each."""
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["dotnet", "build", "bench/Protea.Bench", "-c", "Release", "--nologo", "--verbosity", "quiet"], check=True)
    only = os.environ.get("METRIC_ONLY")
    if only in (None, "", "models"):
        save("models", models())
    if only in (None, "", "search"):
        save("search", search_speed())
    write({**load("models"), **load("search")})

def save(part, values):
    values[part + "_date"] = f"{datetime.datetime.now():%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}"
    values[part + "_reduced"] = EPOCHS < 4 or LIMIT is not None or QUERIES < 10000
    values[part + "_settings"] = f"METRIC_QUERIES={QUERIES}" if part == "search" else f"METRIC_EPOCHS={EPOCHS}, METRIC_LIMIT={LIMIT or 'all'}"
    with open(f"{OUT}/{part}.json", "w") as f:
        json.dump(values, f)

def load(part):
    path = f"{OUT}/{part}.json"
    return json.load(open(path)) if os.path.exists(path) else {}

def models():
    teacher, student = f"{OUT}/triplet", f"{OUT}/student"
    common = ["--data", "fashion-mnist", "--epochs", str(EPOCHS), "--threads", str(THREADS), "--json"] + (["--limit", LIMIT] if LIMIT else [])

    log(f"training the triplet+ce teacher ({EPOCHS} epochs)")
    t_out, t_wall = trained(CLI + ["train", "--objective", "triplet+ce", "--out", teacher] + common, teacher)
    t_acc = t_out["metrics"]["accuracy"]
    log("index of the 60,000 training images, then Recall@K of the 10,000 test queries")
    _, index_wall = run(CLI + ["index", "--model", teacher, "--data", "fashion-mnist", "--out", f"{OUT}/triplet.index", "--threads", str(THREADS)])
    s_out, search_wall = run(CLI + ["search", "--index", f"{OUT}/triplet.index", "--data", "fashion-mnist", "--json", "--threads", str(THREADS)])
    retrieval = last_json(s_out)

    log("distilling a half-width student")
    d_out, d_wall = trained(CLI + ["distill", "--teacher", teacher, "--width", "0.5", "--out", student] + common, student)
    d_acc = d_out["metrics"]["accuracy"]
    log("inference speed, teacher vs student (ONNX Runtime, batch 1000 and 1), interleaved, best of 2 each")
    for model in (teacher, student):
        run(CLI + ["export", "--model", model, "--format", "onnx"])
    speeds = {}
    for _ in range(2):
        for name, model in [("teacher", teacher), ("student", student)]:
            r = last_json(run(BENCH + ["infer", "--model", model, "--engine", "onnx", "--threads", str(THREADS)])[0])
            best = speeds.get(name)
            speeds[name] = r if best is None else {k: max(best[k], r[k]) if k.endswith("per_second") else r[k] for k in r}
    return dict(t_acc=t_acc, t_wall=t_wall, index_wall=index_wall, search_wall=search_wall, retrieval=retrieval,
                d_acc=d_acc, d_wall=d_wall, speeds=speeds)

def search_speed():
    """Protea's blocked kernel (AVX-512 and, forced, AVX2 registers) and PyTorch, interleaved, best of each."""
    log(f"exact search, {QUERIES} queries x 60,000 x 128: Protea (512-bit, 256-bit) and PyTorch, interleaved twice")
    ours, ours256, torch_ref = None, None, None
    for rep in range(2):
        a = last_json(run(BENCH + ["search", "--items", "60000", "--dim", "128", "--queries", str(QUERIES), "--threads", str(THREADS),
                                   "--sweep", "true" if rep == 0 else "false"])[0])
        t = last_json(run(["/usr/bin/python3", "-c", TORCH_SEARCH, "60000", "128", str(QUERIES), str(THREADS)], env={"OMP_NUM_THREADS": str(THREADS)})[0])
        b = last_json(run(BENCH + ["search", "--items", "60000", "--dim", "128", "--queries", str(QUERIES), "--threads", str(THREADS),
                                   "--sweep", "false", "--bits", "256"])[0])
        if ours is None: ours = a
        else:
            for k in ("all_queries_seconds",): ours[k] = min(ours[k], a[k])
            for k in ("queries_per_second_at1", "queries_per_second_at1000"): ours[k] = max(ours[k], a[k])
        ours256 = b if ours256 is None else {**b, "all_queries_seconds": min(ours256["all_queries_seconds"], b["all_queries_seconds"])}
        torch_ref = t if torch_ref is None else {"seconds": min(torch_ref["seconds"], t["seconds"])}
    return dict(ours=ours, ours256=ours256, torch=torch_ref)

def write(v):
    trained, searched = "retrieval" in v, "ours" in v
    lines = [
        "# Separable embeddings and search (issue 20)", "",
        f"Command: `python3 bench/metric.py` (`make bench-metric`; `METRIC_ONLY=models` or `METRIC_ONLY=search` runs one part, "
        f"the other part's latest results are kept), {THREADS} threads. CPU: {cpu_line()}.  ",
        f"Models part: {v.get('models_date', 'not run')} ({v.get('models_settings', '-')}).  ",
        f"Search part: {v.get('search_date', 'not run')} ({v.get('search_settings', '-')}).  ",
        "The 2-core machine was shared with other agents' jobs: absolute times are noisy; the ratios are measured interleaved in the same run.", "",
    ] + (trained_sections(v) if trained else ["**The models part has not been run** (`METRIC_ONLY=models`).", ""]) \
      + (search_section(v) if searched else ["**The search part has not been run** (`METRIC_ONLY=search`).", ""])
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/metric.md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))

def trained_sections(v):
    r, s = v["retrieval"], v["speeds"]
    recall = r["recall_at_k"]
    ratio_speed = s["student"]["batch1000_images_per_second"] / s["teacher"]["batch1000_images_per_second"]
    ratio_speed1 = s["student"]["batch1_images_per_second"] / s["teacher"]["batch1_images_per_second"]
    return [
        "## Retrieval: Fashion-MNIST test queries against the training set", "",
        f"Model: reference `cnn`, `--objective triplet+ce` (batch-hard, margin 0.2, P x K batches), quick recipe, {v['models_settings']} "
        f"({v['t_wall']:.0f} s). Index: the 60,000 training images, built in **{v['index_wall']:.1f} s** (`protea index`, whole command: start-up, "
        f"decoding, embedding, writing). Retrieval: `protea search --data fashion-mnist` ({v['search_wall']:.1f} s whole command), the 10,000 test images as queries.", "",
    ] + ([
        f"**Reduced run** ({v['models_settings']}; the default is 4 epochs on all 60,000 images): with the 2 cores shared by ~20 runnable jobs, "
        "one full triplet+ce epoch took 968 s of wall time in this session, so the full run did not fit the time box. The figures below "
        "are for an under-trained teacher and student; rerun `make bench-metric` on a quieter machine for the targets.", "",
    ] if v.get("models_reduced") else []) + [
        "| Recall@1 | Recall@2 | Recall@4 | Recall@8 | mAP@R | test accuracy (head) | target |",
        "|---|---|---|---|---|---|---|",
        f"| **{100*recall['1']:.2f} %** | {100*recall['2']:.2f} % | {100*recall['4']:.2f} % | {100*recall['8']:.2f} % | {100*r['map_at_r']:.2f} % | {100*v['t_acc']:.2f} % | Recall@1 >= 90 %: **{'met' if recall['1'] >= 0.9 else 'not met'}** |", "",
        "## Distillation: half-width student", "",
        f"`protea distill --teacher <triplet model> --width 0.5` (T = 4, alpha = 0.9, the teacher's recipe and epochs, {v['d_wall']:.0f} s). Inference: `Protea.Bench infer`, teacher and student interleaved twice, best of each.", "",
        "| model | test accuracy | batch 1000 img/s (ONNX, 2 threads) | batch 1 img/s |", "|---|---|---|---|",
        f"| teacher (cnn, width 1) | {100*v['t_acc']:.2f} % | {s['teacher']['batch1000_images_per_second']:,.0f} | {s['teacher']['batch1_images_per_second']:,.0f} |",
        f"| student (cnn, width 0.5) | {100*v['d_acc']:.2f} % | {s['student']['batch1000_images_per_second']:,.0f} | {s['student']['batch1_images_per_second']:,.0f} |", "",
        f"Accuracy gap: **{100*(v['t_acc']-v['d_acc']):.2f} points** (target <= 1.5: **{'met' if v['t_acc']-v['d_acc'] <= 0.015 else 'not met'}**); "
        f"speed-up **{ratio_speed:.2f}x** at batch 1000, {ratio_speed1:.2f}x at batch 1 (target >= 1.7x: **{'met' if ratio_speed >= 1.7 else 'not met'}**).", "",
    ]

def search_section(v):
    o, o256 = v["ours"], v["ours256"]
    search_ratio = v["torch"]["seconds"] / o["all_queries_seconds"]
    ratio256 = v["torch"]["seconds"] / o256["all_queries_seconds"]
    threshold = [p for p in o["sizes"] if p["one_query_ms"] > 50]
    per_item_dim_ns = o["sizes"][-1]["one_query_ms"] * 1e6 / (o["sizes"][-1]["items"] * o["sizes"][-1]["dim"])
    return [
        "## Exact search speed", "",
        f"{o['queries']:,} random unit queries against 60,000 x 128 random unit items, top 10, {THREADS} threads, best of 3 per process, "
        "Protea and PyTorch run interleaved twice (best of each). Protea: `ExactSearch.TopK` (`Protea.Bench search`): the blocked kernel "
        "(`Search/BlockedTopK.cs`: query panels x item rows in SIMD registers, each similarity compared with the query's k-th best so far, "
        "bounded heaps; no similarity matrix). PyTorch 1.13 (Debian, OpenBLAS, which runs its Haswell AVX2 kernels on this CPU): "
        "normalise, then `topk(q @ index.T)` in chunks of 1,000 queries.", "",
        "| | registers | seconds | queries/s | speed vs PyTorch |", "|---|---|---|---|---|",
        f"| Protea | {o['vector_bits']}-bit | {o['all_queries_seconds']:.2f} | {o['queries']/o['all_queries_seconds']:,.0f} | **{search_ratio:.2f}x** |",
        f"| Protea, AVX-512 switched off (`ExactSearch.MaxVectorBits = 256`, as on AVX2 CPUs) | {o256['vector_bits']}-bit | {o256['all_queries_seconds']:.2f} | {o['queries']/o256['all_queries_seconds']:,.0f} | {ratio256:.2f}x |",
        f"| PyTorch | | {v['torch']['seconds']:.2f} | {o['queries']/v['torch']['seconds']:,.0f} | 1.00x |", "",
        f"Target >= 1.5x PyTorch: **{'met' if search_ratio >= 1.5 else 'not met'}** ({search_ratio:.2f}x). "
        f"Queries/s at 1 query per call: **{o['queries_per_second_at1']:,.0f}**; at 1,000 per call: **{o['queries_per_second_at1000']:,.0f}**.", "",
        "One query (one call), by index size (items x dimension):", "",
        "| items | dimension | ms per query |", "|---|---|---|",
    ] + [f"| {p['items']:,} | {p['dim']} | {p['one_query_ms']:.1f} |" for p in o["sizes"]] + [
        "",
        f"One query costs about {per_item_dim_ns:.2f} ns per item x dimension here (the largest size), so it passes 50 ms near "
        f"{50e6/per_item_dim_ns/1e6:,.0f} million items x dimensions (e.g. {50e6/per_item_dim_ns/128/1e3:,.0f}k items at 128-d, "
        f"{50e6/per_item_dim_ns/512/1e3:,.0f}k at 512-d)" + (f"; first size measured above 50 ms: {threshold[0]['items']:,} x {threshold[0]['dim']}." if threshold else "; no size measured passed 50 ms."),
        "",
    ]

if __name__ == "__main__":
    main()
