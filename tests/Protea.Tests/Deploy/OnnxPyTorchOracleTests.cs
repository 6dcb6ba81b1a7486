using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Tests.Support;

namespace Protea.Tests.Deploy;

public sealed class OnnxPyTorchOracleTests
{
    /// <summary>
    /// Debian PyTorch rebuilds the reference cnn from its own definition (tests/python/protea_reference.py),
    /// loads our model.safetensors with a tiny safetensors reader, normalises the raw images with model.json's statistics and
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
        import sys, json, hashlib
        import numpy as np, torch, onnx
        from protea_reference import load_model, normalize

        model_dir, images_path, n, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
        net, desc, _ = load_model(model_dir)
        raw = np.fromfile(images_path, dtype=np.uint8).reshape([n] + desc["input_shape"])
        x = normalize(raw, desc["normalization"])
        with torch.no_grad():
            logits, z = net.logits_and_embedding(x)
        np.concatenate([logits.numpy().ravel(), z.numpy().ravel()]).astype("<f4").tofile(out_path)

        model = onnx.load(model_dir + "/model.onnx")
        sha = hashlib.sha256(open(model_dir + "/model.safetensors", "rb").read()).hexdigest()
        print(json.dumps({"sha256": sha, "metadata": {p.key: p.value for p in model.metadata_props}}))
        """;
}
