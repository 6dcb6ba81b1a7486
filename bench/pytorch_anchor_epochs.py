#!/usr/bin/python3
"""The anchor's recipe (../shared/anchors/pytorch_fmnist_anchor.py, same network, data, optimiser and
OneCycle schedule) with the test accuracy measured after every epoch, to find its time to 92 %.
Usage: pytorch_anchor_epochs.py ANCHOR_PATH EPOCHS THREADS -> JSON {epochs: [{epoch, train_s, test_accuracy}]}
Evaluation time is excluded from train_s."""
import importlib.util, json, sys, time
import torch, torch.nn.functional as F

spec = importlib.util.spec_from_file_location("anchor", sys.argv[1])
anchor = importlib.util.module_from_spec(spec); spec.loader.exec_module(anchor)
epochs, threads = int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)
xtr = torch.tensor(anchor.idx("train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.
ytr = torch.tensor(anchor.idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(anchor.idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.
yte = torch.tensor(anchor.idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
mean, std = 0.2860, 0.3530
xtr, xte = (xtr - mean) / std, (xte - mean) / std
m = anchor.cnn(); bs = 128; steps = epochs * (len(xtr) // bs)
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
train_s, out = 0.0, []
for ep in range(epochs):
    t0 = time.perf_counter()
    m.train(); perm = torch.randperm(len(xtr))
    for i in range(len(xtr) // bs):
        b = perm[i * bs:(i + 1) * bs]; x = xtr[b]
        flip = torch.rand(len(b)) < 0.5
        x[flip] = x[flip].flip(-1)
        loss = F.cross_entropy(m(x), ytr[b])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sch.step()
    train_s += time.perf_counter() - t0
    m.eval()
    with torch.no_grad():
        correct = sum((m(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
    out.append({"epoch": ep + 1, "train_s": round(train_s, 1), "test_accuracy": correct / len(xte)})
print(json.dumps({"epochs": out}))
