"""Protea's reference network (`cnn` backbone, `linear` head) in plain PyTorch, and a safetensors reader.

Written from the network's description, not from Protea's code, so that tests can compare the two.
Parameter names are Protea's (backbone.blockK.conv.weight, backbone.blockK.bn.*, head.*): a Protea
model.safetensors loads with strict=True, so a missing, extra or mis-shaped tensor fails.

One definition for every user: the oracle tests (tests/Protea.Tests copies this file beside the test
assembly as python/protea_reference.py and puts that folder on PYTHONPATH, see Support/Python.cs) and
bench/pytorch_reference.py (which adds tests/python to sys.path).
"""
import json
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    """(dict name -> torch tensor, metadata dict): 8-byte header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[start + begin:start + end], dtype=SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class ReferenceCnn(nn.Module):
    """Five conv-BN-ReLU blocks (32, 32, pool, 64, 64, pool, 128) and a global average: a 128-d embedding."""

    embedding_dim = 128

    def __init__(self, cin):
        super().__init__()
        self.block1, self.block2 = ConvBnRelu(cin, 32), ConvBnRelu(32, 32)
        self.block3, self.block4 = ConvBnRelu(32, 64), ConvBnRelu(64, 64)
        self.block5 = ConvBnRelu(64, 128)

    def forward(self, x):
        x = F.max_pool2d(self.block2(self.block1(x)), 2)
        x = F.max_pool2d(self.block4(self.block3(x)), 2)
        return self.block5(x).mean((2, 3))


class ReferenceClassifier(nn.Module):
    """backbone (ReferenceCnn) -> embedding -> head (Linear): forward gives logits."""

    def __init__(self, cin, classes):
        super().__init__()
        self.backbone = ReferenceCnn(cin)
        self.head = nn.Linear(ReferenceCnn.embedding_dim, classes)

    def forward(self, x):
        return self.head(self.backbone(x))

    def logits_and_embedding(self, x):
        z = self.backbone(x)
        return self.head(z), z


def load_model(model_dir):
    """(the model in eval mode, model.json as a dict, the safetensors metadata) of a Protea cnn/linear model folder."""
    with open(model_dir + "/model.json") as f:
        desc = json.load(f)
    assert desc["architecture"] == "cnn" and desc["head"] == "linear", desc
    net = ReferenceClassifier(desc["input_shape"][0], len(desc["class_names"]))
    tensors, metadata = read_safetensors(model_dir + "/model.safetensors")
    net.load_state_dict(tensors, strict=True)
    return net.eval(), desc, metadata


def normalize(raw, norm):
    """model.json's normalisation of raw uint8 images [N, C, H, W], in float64: x = (raw * scale - mean) / std, as float32."""
    raw = torch.as_tensor(raw).double()
    mean = torch.tensor(norm["mean"], dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"], dtype=torch.float64).view(1, -1, 1, 1)
    return ((raw * norm["scale"] - mean) / std).float()
