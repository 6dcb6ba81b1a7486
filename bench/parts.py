#!/usr/bin/python3
"""`make bench-parts`: the parts head (ProtoPNet) against the linear head on Fashion-MNIST with the reference cnn,
same recipe, epochs, seed and threads, as whole `protea train` processes in one run: test accuracy, % of prototypes
on distinct patches after push, training img/s (the epochs; push and last-layer stages timed apart).
Environment: BENCH_EPOCHS (default 4), BENCH_LIMIT (training examples, default all 60,000), BENCH_THREADS (default 2)."""
import datetime, json, os, shutil, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "4"))
LIMIT = os.environ.get("BENCH_LIMIT")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
OUT = "bench/out/parts"
# A copy of the built CLI, so that a rebuild during the run does not change what is measured.
CLI_DIR = os.path.join(OUT, "cli")
shutil.rmtree(OUT, ignore_errors=True)
shutil.copytree("src/Protea.Cli/bin/Release/net10.0", CLI_DIR)
CLI = ["dotnet", os.path.join(CLI_DIR, "Protea.Cli.dll")]

def train(head):
    out = os.path.join(OUT, head)
    cmd = CLI + ["train", "--data", "fashion-mnist", "--arch", "cnn", "--head", head, "--epochs", str(EPOCHS),
                 "--seed", "0", "--threads", str(THREADS), "--json", "--out", out] + (["--limit", LIMIT] if LIMIT else [])
    print(f"[bench-parts {datetime.datetime.now():%H:%M:%S}] {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench-parts: {head} failed:\n{p.stderr[-3000:]}")
    m = json.load(open(os.path.join(out, "metrics.json")))
    d = json.load(open(os.path.join(out, "model.json")))
    return cmd, m, d

lin_cmd, lin, _ = train("linear")
parts_cmd, parts, parts_model = train("parts")
t = parts_model["head_config"]["training"]
cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
flags = " ".join(f for f in ["avx2", "avx512f"] if f in cpu)
acc = lambda m: m["metrics"]["accuracy"] * 100
ratio = parts["train_examples_per_second"] / lin["train_examples_per_second"]
distinct = 100 * t["distinct_after_push"] / t["pushed"]
rows = [
    "| head | test accuracy | train img/s (epochs) | train s | push s | last layer s |",
    "|---|---|---|---|---|---|",
    f"| linear | {acc(lin):.2f} % | {lin['train_examples_per_second']:.0f} | {lin['train_seconds']:.1f} | - | - |",
    f"| parts | {acc(parts):.2f} % | {parts['train_examples_per_second']:.0f} | {parts['train_seconds']:.1f} | {t['push_seconds']:.1f} | {t['last_layer_seconds']:.1f} |",
]
whole = parts["train_examples_per_second"] * parts["train_seconds"] / (parts["train_seconds"] + t["push_seconds"] + t["last_layer_seconds"])
text = f"""# Parts head (ProtoPNet) vs linear head

Date: {datetime.datetime.now():%Y-%m-%d %H:%M}. CPU: {model} ({flags or 'no AVX2/AVX-512'}), {THREADS} threads, a machine shared with other jobs.
Commands: `{' '.join(lin_cmd[2:])}` and `{' '.join(parts_cmd[2:])}` (run by `make bench-parts`{', BENCH_LIMIT=' + LIMIT if LIMIT else ''}, BENCH_EPOCHS={EPOCHS}).
{'Reduced setting: ' + LIMIT + ' training images (seeded subset) instead of 60,000; the test set is the full 10,000.' if LIMIT else ''}

{chr(10).join(rows)}

| target | measured | met |
|---|---|---|
| parts within 1 point of linear | {acc(parts) - acc(lin):+.2f} points | {'yes' if acc(parts) >= acc(lin) - 1 else 'no'} |
| >= 90 % prototypes distinct after push | {distinct:.0f} % ({t['distinct_after_push']} of {t['pushed']}) | {'yes' if distinct >= 90 else 'no'} |
| parts training >= 0.7x linear img/s (epochs) | {ratio:.2f}x | {'yes' if ratio >= 0.7 else 'no'} |
| same, push and last layer included | {whole / lin['train_examples_per_second']:.2f}x | {'yes' if whole / lin['train_examples_per_second'] >= 0.7 else 'no'} |

After hygiene: {t['merged']} merged, {t['pruned']} pruned; prototypes per class {t['per_class']}.
"""
os.makedirs("bench/results", exist_ok=True)
with open("bench/results/parts.md", "w") as f:
    f.write(text)
print(text)
