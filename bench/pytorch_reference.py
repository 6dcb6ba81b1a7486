#!/usr/bin/python3
"""Debian PyTorch side of `make bench`: the reference cnn with the weights of a Protea model folder.

Usage: pytorch_reference.py infer MODEL_DIR THREADS   -> JSON: batch-1000 img/s, batch-1 img/s, p50/p99 ms
       pytorch_reference.py eval  MODEL_DIR THREADS   -> JSON: accuracy (the whole process is what is timed)
The network and the safetensors reader are tests/python/protea_reference.py's (one definition for tests and bench)."""
import gzip, json, os, sys, time
import numpy as np, torch

# The reference network is defined once, for the tests and the bench: tests/python/protea_reference.py.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from protea_reference import load_model as load_reference  # noqa: E402

D = "/usr/share/datasets/fashion-mnist/"

def load_model(model_dir):
    m, desc, _ = load_reference(model_dir)
    return m, desc["normalization"]

def test_set(norm):
    with gzip.open(D + "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(D + "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    x = torch.tensor(x, dtype=torch.float32) * norm["scale"]
    x = (x - norm["mean"][0]) / norm["std"][0]
    return x, torch.tensor(y, dtype=torch.long)

def main():
    mode, model_dir, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    m, norm = load_model(model_dir)
    x, y = test_set(norm)
    with torch.no_grad():
        if mode == "eval":
            correct = sum((m(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
            print(json.dumps({"accuracy": correct / len(x)}))
            return
        m(x[:2000])
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            for i in range(0, len(x), 1000):
                m(x[i:i + 1000])
            best = min(best, time.perf_counter() - t)
        for i in range(100):
            m(x[i:i + 1])
        lat = []
        t0 = time.perf_counter()
        for i in range(2000):
            t = time.perf_counter()
            m(x[i % len(x):i % len(x) + 1])
            lat.append((time.perf_counter() - t) * 1000)
        total = time.perf_counter() - t0
        lat.sort()
        print(json.dumps({"engine": "pytorch", "threads": threads, "batch1000_images_per_second": len(x) / best,
                          "batch1_images_per_second": 2000 / total, "batch1_p50_ms": lat[1000], "batch1_p99_ms": lat[1980]}))

if __name__ == "__main__":
    main()
