using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Tests.Support;

namespace Protea.Tests.Deploy;

public sealed class OnnxPyTorchOracleTests
{
    /// <summary>
    /// Debian PyTorch rebuilds the reference cnn from its own definition, loads our model.safetensors
    /// with a tiny safetensors reader, normalises the raw images with model.json's statistics and
    /// computes logits and embeddings; ONNX Runtime running our export must agree. Python also checks
    /// the export's metadata against its own SHA-256 of the weights.
    /// </summary>
    [Fact]
    public void ReferenceCnnExport_MatchesDebianPyTorch_OnTheSameWeights()
    {
        using var dir = new TempDir();
        const int count = 48;
        var (images, k) = DeployModels.Data("cnn", null, count);
        using var _ = images;
        using (var bundle = DeployModels.Build("cnn", null, "linear", images, k, seed: 5))
            bundle.Save(dir.Path);
        var onnxPath = OnnxExporter.Export(dir.Path);
        using var engine = new OnnxEngine(onnxPath, Protea.Models.ModelBundle.ReadDescription(dir.Path), threads: 2);
        var actual = engine.Run(images);
        File.WriteAllBytes(dir.File("images.u8"), images.bytes.ToArray());

        var stdout = Python.Run(Script, dir.Path, dir.File("images.u8"), count.ToString(), dir.File("torch.f32"));

        var reference = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(dir.File("torch.f32"))).ToArray();
        var torchLogits = reference[..(count * k)];
        var torchEmbeddings = reference[(count * k)..];
        Assert.Equal(count * 128, torchEmbeddings.Length);
        Assert.True(DeployModels.MaxAbsDiff(torchLogits, actual.Logits) <= 1e-4,
            $"logits differ from PyTorch's by {DeployModels.MaxAbsDiff(torchLogits, actual.Logits):g3}");
        Assert.True(DeployModels.MaxAbsDiff(torchEmbeddings, actual.Embeddings) <= 1e-4,
            $"embeddings differ from PyTorch's by {DeployModels.MaxAbsDiff(torchEmbeddings, actual.Embeddings):g3}");
        var result = JsonNode.Parse(stdout)!;
        var metadata = result["metadata"]!;
        Assert.Equal(result["sha256"]!.GetValue<string>(), metadata["weights_sha256"]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, k).Select(i => $"class-{i}"),
            JsonSerializer.Deserialize<string[]>(metadata["class_names"]!.GetValue<string>()));
        Assert.Equal("cnn", metadata["architecture"]!.GetValue<string>());
        Assert.Equal("linear", metadata["head"]!.GetValue<string>());
        Assert.Equal("1", metadata["protea_format_version"]!.GetValue<string>());
    }

    private const string Script = """
        import sys, json, struct, hashlib
        import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, onnx

        model_dir, images_path, n, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

        def read_safetensors(path):
            data = open(path, "rb").read()
            (header_len,) = struct.unpack("<Q", data[:8])
            header = json.loads(data[8:8 + header_len])
            start = 8 + header_len
            dtypes = {"F32": np.float32, "I64": np.int64}
            tensors = {}
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                b, e = info["data_offsets"]
                array = np.frombuffer(data[start + b:start + e], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
                tensors[name] = torch.from_numpy(array.copy())
            return tensors

        class ConvBnRelu(nn.Module):
            def __init__(self, i, o):
                super().__init__()
                self.conv = nn.Conv2d(i, o, 3, padding=1, bias=False)
                self.bn = nn.BatchNorm2d(o)
            def forward(self, x):
                return F.relu(self.bn(self.conv(x)))

        class ReferenceCnn(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.block1, self.block2 = ConvBnRelu(c, 32), ConvBnRelu(32, 32)
                self.block3, self.block4 = ConvBnRelu(32, 64), ConvBnRelu(64, 64)
                self.block5 = ConvBnRelu(64, 128)
            def forward(self, x):
                x = F.max_pool2d(self.block2(self.block1(x)), 2)
                x = F.max_pool2d(self.block4(self.block3(x)), 2)
                return self.block5(x).mean((2, 3))

        class Net(nn.Module):
            def __init__(self, c, k):
                super().__init__()
                self.backbone = ReferenceCnn(c)
                self.head = nn.Linear(128, k)

        desc = json.load(open(model_dir + "/model.json"))
        shape = desc["input_shape"]
        net = Net(shape[0], len(desc["class_names"]))
        net.load_state_dict(read_safetensors(model_dir + "/model.safetensors"), strict=True)
        net.eval()
        norm = desc["normalization"]
        raw = torch.from_numpy(np.fromfile(images_path, dtype=np.uint8).reshape([n] + shape).astype(np.float64))
        mean = torch.tensor(norm["mean"], dtype=torch.float64).view(1, -1, 1, 1)
        std = torch.tensor(norm["std"], dtype=torch.float64).view(1, -1, 1, 1)
        x = ((raw * norm["scale"] - mean) / std).float()
        with torch.no_grad():
            z = net.backbone(x)
            logits = net.head(z)
        np.concatenate([logits.numpy().ravel(), z.numpy().ravel()]).astype("<f4").tofile(out_path)

        model = onnx.load(model_dir + "/model.onnx")
        sha = hashlib.sha256(open(model_dir + "/model.safetensors", "rb").read()).hexdigest()
        print(json.dumps({"sha256": sha, "metadata": {p.key: p.value for p in model.metadata_props}}))
        """;
}
