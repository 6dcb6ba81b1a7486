#!/usr/bin/python3
"""`make bench-incremental`: class-incremental learning on Fashion-MNIST, written to bench/results/incremental.md.

1. B0-Inc2 (5 tasks x 2 classes), reference cnn, every method in one `protea incremental --compare` run.
2. FSCIL: base 6 classes, then 4 steps of 1 class x 5 shots (ncm, teen, finetune).
3. The same B0-Inc2 comparison on an image folder: scikit-learn's digits (8x8) written as PNG class folders
   (bench/recipe.py builds it), all items, INC_FOLDER_EPOCHS epochs per step (default 8: the folder is small).
4. `protea learn-class` with 5 images as a whole process (ncm, teen; icarl with the old classes' data) on a 7-class ncm model.
5. The ncm vs joint time ratio, from run 1 (same process, same scenario).
Sizes (environment): INC_PER_CLASS training items per class (default 200), INC_TEST_PER_CLASS (300),
INC_EPOCHS per step (2), INC_THREADS (2), INC_METHODS (all). These defaults are reduced (a 200-item sample per
class instead of 6,000, 2 epochs per step) so the run fits a shared 2-core machine: about 16 minutes there
under heavy load (load average ~15), a few minutes on idle cores. INC_REUSE=1 keeps the two `incremental` runs
already in bench/out/incremental (their JSON and wall time) and redoes the rest."""
import datetime, gzip, json, os, shutil, struct, subprocess, sys, time, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
PER_CLASS = os.environ.get("INC_PER_CLASS", "200")
TEST_PER_CLASS = os.environ.get("INC_TEST_PER_CLASS", "300")
EPOCHS = os.environ.get("INC_EPOCHS", "2")
THREADS = os.environ.get("INC_THREADS", "2")
METHODS = os.environ.get("INC_METHODS", "finetune,joint,ncm,teen,lwf,icarl,protoaug")
FOLDER_EPOCHS = os.environ.get("INC_FOLDER_EPOCHS", "8")
REUSE = os.environ.get("INC_REUSE") == "1"
# INC_CLI: a copy of the built CLI, so the tree can be rebuilt while a long run goes on.
CLI = ["dotnet", os.environ.get("INC_CLI", "src/Protea.Cli/bin/Release/net10.0/Protea.Cli.dll")]
OUT = "bench/out/incremental"
RESULT = "bench/results/incremental.md"
FMNIST = "/usr/share/datasets/fashion-mnist"

def log(msg):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

def run(args):
    cmd = CLI + args
    log(" ".join(args))
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout, seconds

def cpu_line():
    model, flags = "?", ""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"): model = line.split(":", 1)[1].strip()
        if line.startswith("Flags:"): flags = line
    isa = [f for f in ("avx2", "avx512f") if f" {f}" in flags]
    return f"{model} ({', '.join(isa) or 'no AVX2'}), {os.cpu_count()} logical CPUs"

def table(results, fscil=False):
    rows = ["| method | avg incremental acc | last acc | avg forgetting | BWT | last old | last new | last harmonic | seconds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    p = lambda v: "-" if v is None else f"{100 * v:.1f}"
    for r in results:
        last = r["steps"][-1]
        rows.append(f"| {r['method']} | {p(r['average_incremental_accuracy'])} | {p(r['last_accuracy'])} | {p(r['average_forgetting'])} | "
                    f"{p(r['backward_transfer'])} | {p(last['old_accuracy'])} | {p(last['new_accuracy'])} | {p(last['harmonic_mean'])} | {r['seconds']:.1f} |")
    rows += ["", "Accuracy on all classes seen after each step (%):", "",
             "| method | " + " | ".join(f"step {s['step'] + 1} ({s['classes_seen']} cl.)" for s in results[0]["steps"]) + " |",
             "|---|" + "---:|" * len(results[0]["steps"])]
    for r in results:
        rows.append(f"| {r['method']} | " + " | ".join(p(s["accuracy"]) for s in r["steps"]) + " |")
    if fscil:
        rows += ["", "Old / new / harmonic per step (%):", ""]
        for r in results:
            rows.append(f"- {r['method']}: " + "; ".join(f"step {s['step'] + 1}: {p(s['old_accuracy'])} / {p(s['new_accuracy'])} / {p(s['harmonic_mean'])}" for s in r["steps"][1:]))
    return "\n".join(rows)

def save_gray_png(path, width, height, pixels):
    """A minimal 8-bit grayscale PNG (no Pillow needed)."""
    def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def write_pngs(folder, label, count):
    with gzip.open(f"{FMNIST}/t10k-images-idx3-ubyte.gz") as f: images = f.read()[16:]
    with gzip.open(f"{FMNIST}/t10k-labels-idx1-ubyte.gz") as f: labels = f.read()[8:]
    os.makedirs(folder, exist_ok=True)
    written = 0
    for i, l in enumerate(labels):
        if l != label: continue
        save_gray_png(os.path.join(folder, f"{i}.png"), 28, 28, images[i * 784:(i + 1) * 784])
        written += 1
        if written == count: break

def incremental(cmd, folder):
    """Runs one `protea incremental --compare` (or, with INC_REUSE=1, reads the earlier run's results)."""
    saved = os.path.join(folder, "bench.json")
    if REUSE and os.path.exists(saved):
        with open(saved) as f: s = json.load(f)
        if s["command"] == cmd:
            log(f"reusing {folder}")
            return s["methods"], s["wall"]
    out, wall = run(cmd)
    methods = json.loads(out)["methods"]
    with open(saved, "w") as f: json.dump({"command": cmd, "wall": wall, "methods": methods}, f)
    return methods, wall

# Side runs made once to explain the ncm/teen gap (same machine and day as the first run of this script;
# `protea incremental --data fashion-mnist --tasks 5 --method M --test-per-class 300 --threads 2 --json` plus the flags shown).
INVESTIGATION = [
    "Investigation made on an earlier, reduced run of this script (200 training items per class, 2 epochs per step: "
    "ncm 65.6, finetune 39.0, so +26.7). Why ncm/teen stay well short of 40 points above finetune: side runs, one method each "
    "(`protea incremental --data fashion-mnist --tasks 5 --method M --test-per-class 300 --threads 2 --json` plus the flags shown):", "",
    "| method | flags | avg incremental acc | last acc | accuracy per step |", "|---|---|---:|---:|---|",
    "| finetune | --epochs 8 --per-class 200 | 44.8 | 17.8 | 99.5, 49.2, 33.1, 24.2, 17.8 (new-class acc 99.5, 98.5, 99.3, 97.0, 89.2) |",
    "| ncm | --epochs 8 --per-class 200 | 72.5 | 55.6 | 99.5, 80.7, 67.1, 59.8, 55.6 |",
    "| ncm | --epochs 4 --per-class 1000 | 72.7 | 54.9 | 99.8, 82.8, 68.4, 57.8, 54.9 |",
    "| ncm | --epochs 8 --per-class 200 --seed 1 (other class order) | 71.3 | 51.3 | 98.5, 80.0, 66.3, 60.2, 51.3 |", "",
    "- The finetune floor is real forgetting, not an evaluation artefact: its old-class accuracy is 0.0 at every later step and "
    "its average incremental accuracy equals mean over steps of (new-class accuracy x new/seen classes). With new-class accuracy "
    "near 100 % that floor is 45.7 (1 + 1/2 + 1/3 + 1/4 + 1/5)/5, so +40 would need ncm at about 85, above joint (83.9 here).",
    "- ncm's base training was under-fitted at the defaults (2 epochs: 94.2 % on the 2 base classes); 8 epochs or 5x the items give "
    "+7 points (65.6 -> 72.5), and more of either adds nothing (72.5 vs 72.7): the base task is solved (99.5 %).",
    "- The limit is the frozen backbone: trained from scratch on 2 classes (Sneaker vs Bag), its embedding separates those two, "
    "not the 8 classes that follow (new-class accuracy of ncm falls to 39-53 % at the last step). SimpleCIL's margin over finetune "
    "comes from a backbone pre-trained on many classes; with a 6-class base (FSCIL below) ncm keeps 73.5 % on the old classes "
    "where finetune keeps 45.3 %. Embeddings are L2-normalised before the class means (checked in Prototypes.AddClasses).",
    "- teen is slightly below ncm here: calibrating towards old prototypes helps few-shot classes, not classes with 200 items.",
    "- protoaug learnt almost nothing new in that reduced run (last new 4.0 %): with 400 new items per step it took about 25 "
    "optimiser steps per task, in which the old-class feature-sampling loss (weight 10, PASS's) and feature distillation (weight 10) "
    "outweigh cross-entropy on the new data; PASS itself trains 100 epochs per task. At full size (12,000 new items per step, "
    "750 steps per task) it learns new classes (see the table above); on digits (about 270 new items per step) it is under-trained again.",
    "- lwf is at the finetune floor (old accuracy 0.0 at the last step): logit distillation without memory does not hold old "
    "classes when each task has only 2 classes.",
]

def shape_notes(cil, memory_holds_all):
    """The issue's expected shape, checked against this run, with the finetune floor it implies."""
    by = {r["method"]: r for r in cil}
    notes = []
    if "finetune" in by:
        f = by["finetune"]
        # A method that forgets every old class and gets new-class accuracy a_s scores a_s * new_s / seen_s at step s.
        floor = sum(s["new_accuracy"] * s["new_classes"] / s["classes_seen"] for s in f["steps"]) / len(f["steps"])
        notes.append(f"- finetune forgets everything old: last old accuracy {100 * (f['steps'][-1]['old_accuracy'] or 0):.1f} %, "
                     f"average forgetting {100 * f['average_forgetting']:.1f}. Its average incremental accuracy "
                     f"{100 * f['average_incremental_accuracy']:.1f} equals the floor of total forgetting with its own new-class accuracy "
                     f"({100 * floor:.1f}: the mean over steps of new accuracy x new/seen classes), so nothing keeps old classes alive.")
        for m in ("ncm", "teen"):
            if m in by:
                gap = 100 * (by[m]["average_incremental_accuracy"] - f["average_incremental_accuracy"])
                notes.append(f"- {m} - finetune: {gap:+.1f} points of average incremental accuracy (target: >= +40).")
    if "icarl" in by and "joint" in by:
        gap = 100 * (by["icarl"]["average_incremental_accuracy"] - by["joint"]["average_incremental_accuracy"])
        notes.append(f"- icarl - joint: {gap:+.1f} points (target: within 10" + ("; at this size the 2,000-exemplar memory holds every item seen)." if memory_holds_all else
                     "; the 2,000-exemplar memory keeps 2000/seen exemplars per class, a small share of the items seen)."))
    return notes

def main():
    if not REUSE: shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    common = ["--per-class", PER_CLASS, "--test-per-class", TEST_PER_CLASS, "--epochs", EPOCHS, "--threads", THREADS, "--json"]
    cil_cmd = ["incremental", "--data", "fashion-mnist", "--tasks", "5", "--compare", METHODS, "--out", f"{OUT}/cil"] + common
    cil, cil_wall = incremental(cil_cmd, f"{OUT}/cil")
    fscil_cmd = ["incremental", "--data", "fashion-mnist", "--base", "6", "--increment", "1", "--tasks", "5", "--shots", "5",
                 "--compare", "ncm,teen,finetune", "--out", f"{OUT}/fscil"] + common
    fscil, fscil_wall = incremental(fscil_cmd, f"{OUT}/fscil")
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import recipe
    digits = next(path for name, path, _, _ in recipe.build() if name == "digits-8x8")
    folder_cmd = ["incremental", "--data", digits, "--tasks", "5", "--compare", METHODS, "--out", f"{OUT}/digits",
                  "--per-class", "0", "--test-per-class", "0", "--epochs", FOLDER_EPOCHS, "--threads", THREADS, "--json"]
    folder, folder_wall = incremental(folder_cmd, f"{OUT}/digits")
    for stale in (f"{OUT}/model7", f"{OUT}/sneaker5"):
        shutil.rmtree(stale, ignore_errors=True)

    # learn-class: a 7-class ncm model (T-shirt..Sandal and Shirt: 0-6), then Sneaker (7) from 5 images.
    model = f"{OUT}/model7"
    run(["train", "--data", "fashion-mnist", "--classes", "0-6", "--head", "ncm", "--epochs", "1", "--limit", "7000",
         "--threads", THREADS, "--out", model])
    write_pngs(f"{OUT}/sneaker5", 7, 5)
    learn = []
    for method in ("ncm", "teen", "icarl"):
        extra = ["--old-data", "fashion-mnist", "--memory", "2000"] if method == "icarl" else []
        # Timed alone; then again on a fresh copy with --test, which also loads and predicts the 10,000 test items, to count moves.
        timed_copy, counted_copy = f"{OUT}/model7-{method}", f"{OUT}/model7-{method}-test"
        for copy in (timed_copy, counted_copy):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(model, copy)
        args = ["learn-class", "--data", f"{OUT}/sneaker5", "--name", "Sneaker", "--method", method, "--threads", THREADS, "--json"] + extra
        _, seconds = run(args + ["--model", timed_copy])
        out, _ = run(args + ["--model", counted_copy, "--test", "fashion-mnist"])
        learn.append((method, seconds, json.loads(out)))
    by = {r["method"]: r for r in cil}
    ratio = by["joint"]["seconds"] / by["ncm"]["seconds"] if "joint" in by and "ncm" in by else None

    lines = [
        "# Class-incremental learning (`protea incremental`, `protea learn-class`)", "",
        f"Date: {datetime.date.today()}. CPU: {cpu_line()}. Threads: {THREADS}.",
        f"Command: `make bench-incremental` (bench/incremental.py) with INC_PER_CLASS={PER_CLASS}, INC_TEST_PER_CLASS={TEST_PER_CLASS}, INC_EPOCHS={EPOCHS}.",
        ("Full size: every training item (6,000 per class) and every test item." if PER_CLASS == "0" and TEST_PER_CLASS == "0" else
         "Reduced sizes: a seeded sample of training items per class (not all 6,000) and of test items per class, "
         "so the whole run fits this shared 2-core machine; accuracies are therefore lower than with full data."),
        "Seconds are each method's own (learning, not evaluation) inside one process; only ratios within one run mean anything on this noisy machine.", "",
        "## Fashion-MNIST, 5 tasks x 2 classes (B0-Inc2), reference cnn", "",
        f"`protea {' '.join(cil_cmd)}` ({cil_wall:.0f} s wall)", "", table(cil), "",
        "Expected shape (issue 18) against this run:", "", *shape_notes(cil, PER_CLASS != "0" and int(PER_CLASS) * 10 <= 2000), "",
        *INVESTIGATION, "",
        "## FSCIL: base 6 classes, then 4 steps of 1 class x 5 shots", "",
        f"`protea {' '.join(fscil_cmd)}` ({fscil_wall:.0f} s wall)", "", table(fscil, fscil=True), "",
        "## Image folder: scikit-learn digits (8x8 PNG class folders), 5 tasks x 2 classes, reference cnn", "",
        f"`protea {' '.join(folder_cmd)}` ({folder_wall:.0f} s wall)", "", table(folder), "",
        "Expected shape (issue 18) against this run:", "", *shape_notes(folder, True), "",
        "## learn-class with 5 images (whole command, 7-class ncm model, adding Sneaker)", "",
        "Seconds: the command alone. Moved: a second run on a fresh copy with `--test fashion-mnist`, which counts the test items whose "
        "prediction moved (10,000 test items, 3,000 of them of the 3 classes the model does not know, Sneaker's 1,000 among them).", "",
        "| method | seconds (whole process) | classes | test items moved (to the new class) |", "|---|---:|---:|---:|",
    ]
    for method, seconds, r in learn:
        lines.append(f"| {method} | {seconds:.2f} | {r['classes_before']} -> {r['classes_after']} | {r['moved']} ({r['moved_to_new_class']}) |")
    lines += ["", "Target: <= 3 s with ncm/teen (no backbone training). icarl trains (herding 2,000 exemplars from the 42,000 old-class "
              "training items, then fine-tuning with distillation), so it is slower and its old-class predictions may move to any class.", "",
              f"ncm vs joint (5 steps): joint / ncm time = {ratio:.2f}" if ratio else "", ""]
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT + ".tmp", "w") as f: f.write("\n".join(lines))
    os.replace(RESULT + ".tmp", RESULT)
    log(f"wrote {RESULT}")

if __name__ == "__main__":
    main()
