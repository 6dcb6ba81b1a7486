#!/usr/bin/python3
"""`make bench-explain`: saliency speed and faithfulness, written to bench/results/explain.md.

Trains a reference cnn briefly on Fashion-MNIST (BENCH_LIMIT images, BENCH_EPOCHS epochs), then, as whole
`protea` processes: Grad-CAM images/s batched on 28x28 (the maps' own seconds from `explain --evaluate
--methods gradcam`, against Debian PyTorch 1.13 doing the same Grad-CAM with a forward hook on the same
weights, same threads, in the same run); one `protea explain` of one image as a whole command (median of
BENCH_REPEAT); the faithfulness table of every method over BENCH_COUNT test images (whole command).
Environment: BENCH_THREADS (2), BENCH_LIMIT (10000), BENCH_EPOCHS (2), BENCH_COUNT (500), BENCH_GRADCAM (2000),
BENCH_REPEAT (3)."""
import datetime, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
from importlib.machinery import SourceFileLoader
run = SourceFileLoader("bench_run", os.path.join(ROOT, "bench", "run")).load_module()

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
LIMIT = int(os.environ.get("BENCH_LIMIT", "10000"))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "2"))
COUNT = int(os.environ.get("BENCH_COUNT", "500"))
GRADCAM = int(os.environ.get("BENCH_GRADCAM", "2000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
CLI = ["dotnet", "src/Protea.Cli/bin/Release/net10.0/Protea.Cli.dll"]
OUT = "bench/out/explain"
MODEL = os.path.join(OUT, "model")

PYTORCH_GRADCAM = r"""
import sys, time, gzip, json
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, 'tests/python')
from protea_reference import load_model
model_dir, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
net, desc, _ = load_model(model_dir)
raw = np.frombuffer(gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 1, 28, 28)[:count]
mean = torch.tensor(desc['normalization']['mean'], dtype=torch.float32).view(1, -1, 1, 1)
std = torch.tensor(desc['normalization']['std'], dtype=torch.float32).view(1, -1, 1, 1)
caught = {}
net.backbone.block5.register_forward_hook(lambda m, i, o: caught.__setitem__('a', o))
def gradcam(p):
    logits = net((p - mean) / std)
    t = logits.argmax(1)
    a = caught['a']
    g = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), a)[0]
    cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
    return F.interpolate(cam, size=(28, 28), mode='bilinear', align_corners=False)
pixels = torch.from_numpy(raw.astype(np.float32)) / 255
gradcam(pixels[:100])
start = time.perf_counter()
for s in range(0, count, 100):
    gradcam(pixels[s:s + 100])
print(json.dumps({'seconds': time.perf_counter() - start}))
"""

def cli(*args):
    out, wall, rss = run.timed(CLI + list(args))
    return out, wall, rss

def main():
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["dotnet", "build", "src/Protea.Cli", "-c", "Release", "--nologo", "--verbosity", "quiet"], check=True)
    subprocess.run(["dotnet", "build-server", "shutdown"], capture_output=True)
    started = datetime.datetime.now()
    run.log(f"training the reference cnn on {LIMIT} images, {EPOCHS} epochs")
    _, train_wall, _ = cli("train", "--data", "fashion-mnist", "--arch", "cnn", "--epochs", str(EPOCHS), "--limit", str(LIMIT),
                           "--threads", str(THREADS), "--out", MODEL, "--json")
    accuracy = json.load(open(os.path.join(MODEL, "model.json")))["metrics"].get("test_accuracy", float("nan"))

    run.log(f"Grad-CAM throughput on {GRADCAM} images")
    out, gc_wall, _ = cli("explain", "--model", MODEL, "--evaluate", "--data", "fashion-mnist", "--methods", "gradcam",
                          "--count", str(GRADCAM), "--steps", "1", "--batch-size", "100", "--threads", str(THREADS), "--out", OUT, "--json")
    gc_seconds = json.loads(out)["faithfulness"]["methods"][0]["seconds"]
    p = subprocess.run(["/usr/bin/python3", "-", MODEL, str(GRADCAM), str(THREADS)], input=PYTORCH_GRADCAM, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": str(THREADS)})
    if p.returncode != 0: sys.exit(p.stderr)
    py_seconds = json.loads(p.stdout.strip().splitlines()[-1])["seconds"]

    run.log("one image as a whole command")
    image = os.path.join(OUT, "one.png")
    subprocess.run(["/usr/bin/python3", "-c", "import gzip, numpy as np\nfrom PIL import Image\n"
                    "d = np.frombuffer(gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 28, 28)\n"
                    f"Image.fromarray(d[0]).save('{image}')"], check=True)
    one = {}
    for method in ["gradcam", "ig"]:
        walls = [cli("explain", "--model", MODEL, image, "--method", method, "--threads", str(THREADS), "--out", OUT)[1] for _ in range(REPEAT)]
        one[method] = run.median(walls)

    run.log(f"faithfulness of every method over {COUNT} images")
    out, faith_wall, faith_rss = cli("explain", "--model", MODEL, "--evaluate", "--data", "fashion-mnist", "--count", str(COUNT),
                                     "--threads", str(THREADS), "--out", OUT, "--json")
    report = json.loads(out)["faithfulness"]

    lines = [
        "# Explanations: saliency speed and faithfulness (`make bench-explain`)", "",
        f"- Date: {started:%Y-%m-%d %H:%M}; command: `BENCH_THREADS={THREADS} BENCH_LIMIT={LIMIT} BENCH_EPOCHS={EPOCHS} BENCH_COUNT={COUNT} BENCH_GRADCAM={GRADCAM} python3 bench/explain.py`",
        f"- CPU: {run.cpu_model()}, {THREADS} torch threads; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine: wall times are upper bounds).",
        f"- Model: reference `cnn` + `linear`, trained {EPOCHS} epochs on {LIMIT} Fashion-MNIST images ({train_wall:.0f} s), test accuracy {accuracy:.4f}.", "",
        "## Speed", "",
        "| measure | Protea | reference | target |", "|---|---|---|---|",
        f"| Grad-CAM, batched (100) on 28x28, {GRADCAM} images, maps only | {GRADCAM / gc_seconds:.0f} images/s | PyTorch 1.13 hook, same weights and threads: {GRADCAM / py_seconds:.0f} images/s (ratio {py_seconds / gc_seconds:.2f}x) | >= 500 images/s |",
        f"| `protea explain` of one image, Grad-CAM, whole command (median of {REPEAT}) | {one['gradcam']:.2f} s | | <= 2 s |",
        f"| `protea explain` of one image, Integrated Gradients (32 steps), whole command | {one['ig']:.2f} s | | |",
        f"| faithfulness table, every method, {COUNT} images, whole command | {faith_wall:.0f} s (peak RSS {faith_rss:.0f} MiB) | | <= 120 s |", "",
        f"## Deletion / insertion over {report['images']} test images ({report['steps']} steps; deletion to the {report['deletion_baseline']}, insertion from the {report['insertion_baseline']} image; the predicted class)", "",
        "Deletion AUC: lower is better. Insertion AUC: higher is better. Seconds: the maps only (curves excluded).", "",
        "| method | deletion AUC | insertion AUC | seconds |", "|---|---|---|---|",
    ]
    for m in report["methods"]:
        lines.append(f"| {m['method']} | {m['deletion_auc']:.4f} | {m['insertion_auc']:.4f} | {m['seconds']:.2f} |")
    lines += ["", f"Curves: `{OUT}/faithfulness.png` (not committed).", ""]
    with open("bench/results/explain.md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))

if __name__ == "__main__":
    main()
