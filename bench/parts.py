#!/usr/bin/python3
"""`make bench-parts`: the parts head (ProtoPNet) against the linear head, same recipe, epochs, seed and threads,
as whole `protea train` processes in one run, on two data sets:
  1. Fashion-MNIST with the reference cnn and the quickstart recipe (`--recipe quick`: 4 epochs, OneCycle SGD, flips);
  2. an image folder: a balanced Fashion-MNIST subset written as 32x32 RGB PNGs (bench/recipe.py's folder writer),
     same recipe with FOLDER_EPOCHS epochs for both heads.
Per run: test accuracy (and the parts head's before push: its last epoch's test accuracy), % of prototypes on
distinct patches after push, what hygiene merged and pruned, training img/s (the epochs; push and last-layer
stages timed apart). Environment: BENCH_EPOCHS (default 4), BENCH_LIMIT (training examples, default all 60,000),
BENCH_THREADS (default 2), FOLDER_TRAIN (training images of the folder set, default 5000), FOLDER_EPOCHS
(default 10), BENCH_SETS (comma list of fmnist, folder; default both), BENCH_OUT (run folders, default bench/out/parts),
BENCH_RESULTS (default bench/results/parts.md): two sets can run as two processes with their own out and results."""
import datetime, json, os, shutil, subprocess, sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import recipe  # the image-folder writer and the Fashion-MNIST reader of `make bench-recipe`

EPOCHS = int(os.environ.get("BENCH_EPOCHS", "4"))
LIMIT = os.environ.get("BENCH_LIMIT")
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
FOLDER_TRAIN = int(os.environ.get("FOLDER_TRAIN", "5000"))
FOLDER_EPOCHS = int(os.environ.get("FOLDER_EPOCHS", "10"))
SETS = os.environ.get("BENCH_SETS", "fmnist,folder").split(",")
OUT = os.environ.get("BENCH_OUT", "bench/out/parts")
RESULTS = os.environ.get("BENCH_RESULTS", "bench/results/parts.md")
FOLDER = f"/tmp/protea-parts-bench/fmnist{FOLDER_TRAIN}-rgb32"
# A copy of the built CLI, so that a rebuild during the run does not change what is measured.
CLI_DIR = os.path.join(OUT, "cli")
shutil.rmtree(OUT, ignore_errors=True)
shutil.copytree("src/Protea.Cli/bin/Release/net10.0", CLI_DIR)
CLI = ["dotnet", os.path.join(CLI_DIR, "Protea.Cli.dll")]


def load():
    return os.getloadavg()[0]


def folder_set():
    """A balanced Fashion-MNIST subset (FOLDER_TRAIN training, 1,000 test images) as 32x32 RGB PNG class folders."""
    if not os.path.isdir(FOLDER):
        x, y = recipe.idx(f"{recipe.FMNIST}/train-images-idx3-ubyte.gz"), recipe.idx(f"{recipe.FMNIST}/train-labels-idx1-ubyte.gz")
        tx, ty = recipe.idx(f"{recipe.FMNIST}/t10k-images-idx3-ubyte.gz"), recipe.idx(f"{recipe.FMNIST}/t10k-labels-idx1-ubyte.gz")
        names = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
        train, test = recipe.balanced(y, FOLDER_TRAIN // 10, 0), recipe.balanced(ty, 100, 1)
        tmp = FOLDER + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        recipe.write_folder(tmp, "train", x[train], y[train], names, rgb32=True)
        recipe.write_folder(tmp, "test", tx[test], ty[test], names, rgb32=True)
        os.rename(tmp, FOLDER)
    return FOLDER


def train(name, data, head, extra):
    out = os.path.join(OUT, name, head)
    cmd = CLI + ["train", "--data", data, "--arch", "cnn", "--head", head, "--recipe", "quick", "--seed", "0",
                 "--threads", str(THREADS), "--json", "--out", out] + extra
    print(f"[bench-parts {datetime.datetime.now():%H:%M:%S}] {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    before = load()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench-parts: {name} {head} failed:\n{p.stderr[-3000:]}")
    m = json.load(open(os.path.join(out, "metrics.json")))
    d = json.load(open(os.path.join(out, "model.json")))
    return {"cmd": " ".join(cmd[2:]), "m": m, "d": d, "load": (before + load()) / 2}


def compare(name, data, extra):
    lin = train(name, data, "linear", extra)
    parts = train(name, data, "parts", extra)
    return name, lin, parts


def write(runs):
    """Writes bench/results/parts.md with the sets done so far (after each set, so a cut-short run keeps what it measured)."""
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
    flags = " ".join(f for f in ["avx2", "avx512f"] if f in cpu)
    acc = lambda r: r["m"]["metrics"]["accuracy"] * 100
    ips = lambda r: r["m"]["train_examples_per_second"]
    rows, targets, hygiene, commands = [], [], [], []
    for name, lin, parts in runs:
        t = parts["d"]["head_config"]["training"]
        before_push = parts["m"]["epochs"][-1].get("validation_accuracy")
        whole = ips(parts) * parts["m"]["train_seconds"] / (parts["m"]["train_seconds"] + t["push_seconds"] + t["last_layer_seconds"])
        ratio, ratio_whole = ips(parts) / ips(lin), whole / ips(lin)
        distinct = 100 * t["distinct_after_push"] / t["pushed"]
        gap = acc(parts) - acc(lin)
        n = f"{lin['m']['train_count']:,} train, {lin['m']['test_count']:,} test"
        rows += [f"| {name} ({n}) | linear | {acc(lin):.2f} % | - | {ips(lin):.0f} | {lin['m']['train_seconds']:.1f} | - | - | {lin['load']:.1f} |",
                 f"| {name} ({n}) | parts | {acc(parts):.2f} % | {'-' if before_push is None else f'{before_push * 100:.2f} %'} | {ips(parts):.0f} | {parts['m']['train_seconds']:.1f} | {t['push_seconds']:.1f} | {t['last_layer_seconds']:.1f} | {parts['load']:.1f} |"]
        targets += [f"| {name}: parts within 1 point of linear | {gap:+.2f} points | {'yes' if gap >= -1 else 'no'} |",
                    f"| {name}: >= 90 % prototypes distinct after push | {distinct:.0f} % ({t['distinct_after_push']} of {t['pushed']}) | {'yes' if distinct >= 90 else 'no'} |",
                    f"| {name}: parts training >= 0.7x linear img/s (epochs) | {ratio:.2f}x | {'yes' if ratio >= 0.7 else 'no'} |",
                    f"| {name}: same, push and last layer included | {ratio_whole:.2f}x | {'yes' if ratio_whole >= 0.7 else 'no'} |"]
        fit = "" if t.get("last_layer_steps") is None else f"; last-layer fit: {t['last_layer_steps']} full-batch steps ({'converged' if t.get('last_layer_converged') else 'step cap reached'})"
        hygiene.append(f"- {name}: {t['merged']} merged, {t['pruned']} pruned; prototypes per class {t['per_class']}{fit}.")
        commands += [f"`{lin['cmd']}`", f"`{parts['cmd']}`"]
    busy = max(max(lin["load"], parts["load"]) for _, lin, parts in runs)
    text = f"""# Parts head (ProtoPNet) vs linear head

Date: {datetime.datetime.now():%Y-%m-%d %H:%M}. CPU: {model} ({flags or 'no AVX2/AVX-512'}), {THREADS} threads, a machine shared with other jobs.
Run by `make bench-parts` (BENCH_EPOCHS={EPOCHS}{', BENCH_LIMIT=' + LIMIT if LIMIT else ''}, FOLDER_TRAIN={FOLDER_TRAIN}, FOLDER_EPOCHS={FOLDER_EPOCHS}). Commands, in order:
{chr(10).join('- ' + c for c in commands)}
{'Reduced setting: ' + LIMIT + ' Fashion-MNIST training images (seeded subset) instead of 60,000; the test set is the full 10,000.' if LIMIT else ''}
The folder set: a balanced Fashion-MNIST subset resized to 32x32 and written as RGB PNG class folders with a `test/` split (1,000 images).
Both heads of a set run the same recipe (`--recipe quick`: OneCycle SGD with Nesterov momentum, lr 0.1, batch 128, flips), epochs and seed.
"Before push" is the parts head's test accuracy after its last epoch, before push, hygiene and the last-layer stage.
{'**Load warning**: the 1-minute load average reached ' + f'{busy:.1f}' + ' during the runs (2 cores shared), so the img/s figures are noisy; the ratios compare runs made back to back under similar load.' if busy > 4 else ''}

| data | head | test accuracy | before push | train img/s (epochs) | train s | push s | last layer s | load |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

| target | measured | met |
|---|---|---|
{chr(10).join(targets)}

Hygiene and the last-layer stage after the last push (merge prototypes on the same patch; prune those with fewer than 3 of their 6 nearest training images of their own class):
{chr(10).join(hygiene)}
"""
    os.makedirs("bench/results", exist_ok=True)
    with open(RESULTS, "w") as f:
        f.write(text)
    print(text)


runs = []
if "fmnist" in SETS:
    runs.append(compare("fashion-mnist", "fashion-mnist", ["--epochs", str(EPOCHS)] + (["--limit", LIMIT] if LIMIT else [])))
    write(runs)
if "folder" in SETS:
    runs.append(compare(f"folder fmnist{FOLDER_TRAIN}-rgb32", folder_set(), ["--epochs", str(FOLDER_EPOCHS)]))
    write(runs)
