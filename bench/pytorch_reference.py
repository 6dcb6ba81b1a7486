#!/usr/bin/python3
"""Debian PyTorch side of `make bench`: the reference cnn with the weights of a Protea model folder.

Usage: pytorch_reference.py infer MODEL_DIR THREADS   -> JSON: batch-1000 img/s, batch-1 img/s, p50/p99 ms
       pytorch_reference.py eval  MODEL_DIR THREADS   -> JSON: accuracy (the whole process is what is timed)
Reads model.safetensors itself (8-byte header length, JSON header, raw little-endian data)."""
import gzip, json, struct, sys, time
import numpy as np, torch, torch.nn as nn

D = "/usr/share/datasets/fashion-mnist/"
DTYPES = {"F32": np.float32, "I64": np.int64, "F64": np.float64}

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + b:8 + n + e], DTYPES[info["dtype"]]).reshape(info["shape"]).copy())
    return out

def cnn(num_classes):
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
    return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                         *block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))

def load_model(model_dir):
    desc = json.load(open(model_dir + "/model.json"))
    sd = read_safetensors(model_dir + "/model.safetensors")
    m = cnn(len(desc["class_names"]))
    # Sequential indices of the conv/bn layers of the five blocks, and the head.
    mapping = {}
    for k, (ci, bi) in enumerate([(0, 1), (3, 4), (7, 8), (10, 11), (14, 15)], start=1):
        for p in ["weight"]:
            mapping[f"backbone.block{k}.conv.{p}"] = f"{ci}.{p}"
        for p in ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]:
            mapping[f"backbone.block{k}.bn.{p}"] = f"{bi}.{p}"
    mapping["head.weight"], mapping["head.bias"] = "19.weight", "19.bias"
    m.load_state_dict({mapping[k]: v for k, v in sd.items()})
    norm = desc["normalization"]
    return m.eval(), norm

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
