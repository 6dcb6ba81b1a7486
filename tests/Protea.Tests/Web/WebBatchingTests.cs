using Protea.Data;
using Protea.Models;
using Protea.Web;

namespace Protea.Tests.Web;

/// <summary>Requests that arrive while the engine is busy run as one batch, with the answers each would get alone.</summary>
public class WebBatchingTests(WebModelFixture fixture) : IClassFixture<WebModelFixture>
{
    [Fact]
    public async Task Requests_batched_together_get_the_answers_they_get_one_at_a_time()
    {
        using var snapshot = ModelSnapshot.Open(fixture.ModelDir, 1, 0);
        var inputs = fixture.HeldOut.Select((h, i) => new Upload($"{h.Class}-{i}.png", h.Png)).Take(24).ToArray();
        // A request of two images among them, and each asking for its own number of classes.
        var requests = inputs.Chunk(1).Take(20).Append(inputs[20..22]).Append(inputs[22..24]).ToArray();
        int Top(int r) => 1 + r % 3;

        var alone = new List<Protea.Predictions.Prediction[]>();
        for (var r = 0; r < requests.Length; r++) alone.Add([.. (await snapshot.PredictAsync(requests[r], Top(r))).Predictions]);
        var (batchesBefore, _) = snapshot.BatchCounts;
        Assert.Equal(requests.Length, batchesBefore);

        Task<(IReadOnlyList<Protea.Predictions.Prediction> Predictions, IReadOnlyList<Protea.Prototypes.PrototypeExplanation>? Prototypes)>[] together;
        using (snapshot.Hold())
        {
            together = requests.Select((r, i) => snapshot.PredictAsync(r, Top(i))).ToArray();
            Assert.All(together, t => Assert.False(t.IsCompleted));
        }
        var answers = await Task.WhenAll(together);
        Assert.Equal((batchesBefore + 1, 2L * requests.Length), snapshot.BatchCounts);   // one batch answered them all

        for (var r = 0; r < requests.Length; r++)
        {
            var got = answers[r].Predictions;
            Assert.Equal(requests[r].Length, got.Count);
            for (var i = 0; i < got.Count; i++)
            {
                var (a, b) = (alone[r][i], got[i]);
                Assert.Equal(requests[r][i].Name, b.Input);
                Assert.Equal(a.Class, b.Class);
                Assert.Equal(Top(r), b.Top.Count);
                Assert.Equal(a.Top.Select(t => t.Class), b.Top.Select(t => t.Class));
                Assert.All(a.Top.Zip(b.Top), t => Assert.Equal(t.First.Probability, t.Second.Probability, 1e-5));
                Assert.Equal(a.UnknownScore!.Value, b.UnknownScore!.Value, 1e-4);
                Assert.Equal(a.Evidence!.OfType<Protea.Search.NearestItemEvidence>().Select(e => e.Id),
                    b.Evidence!.OfType<Protea.Search.NearestItemEvidence>().Select(e => e.Id));
            }
        }
    }

    [Fact]
    public async Task A_parts_models_prototype_evidence_is_the_same_batched_or_alone()
    {
        using var dir = new Protea.Tests.Support.TempDir();
        var modelDir = WebPartsAndInputTests.SavePartsModel(dir);
        using var snapshot = ModelSnapshot.Open(modelDir, 1, 0);
        var uploads = Enumerable.Range(0, 6).Select(k => new Upload($"{k}.png", File.ReadAllBytes(Protea.Tests.Support.TestImages.Write(dir.File($"{k}.png"), 12, 12,
            (x, y) => x >= k && x < k + 4 && y >= 6 - k && y < 10 - k ? SkiaSharp.SKColors.White : SkiaSharp.SKColors.Black, gray: true)))).ToArray();
        var alone = new List<Protea.Prototypes.PrototypeExplanation>();
        foreach (var u in uploads) alone.Add(Assert.Single((await snapshot.PredictAsync([u], 3)).Prototypes!));

        Task<(IReadOnlyList<Protea.Predictions.Prediction> Predictions, IReadOnlyList<Protea.Prototypes.PrototypeExplanation>? Prototypes)>[] together;
        using (snapshot.Hold())
            together = uploads.Select(u => snapshot.PredictAsync([u], 3)).ToArray();
        var answers = await Task.WhenAll(together);
        Assert.Equal((7L, 12L), snapshot.BatchCounts);
        using var bundle = ModelBundle.Load(modelDir);
        for (var k = 0; k < uploads.Length; k++)
        {
            var (a, b) = (alone[k], Assert.Single(answers[k].Prototypes!));
            Assert.Equal(a.Top.Select(e => e.Prototype), b.Top.Select(e => e.Prototype));
            Assert.All(a.Top.Zip(b.Top), e => Assert.Equal(e.First.Similarity, e.Second.Similarity, 1e-4));
            // The shapes repeat black patches: a different box passes only where the two cells tie (float32 noise differs by batch size and CPU).
            using var raw = ImageDecoder.Decode(uploads[k].Bytes, uploads[k].Name, 1, 12, 12).unsqueeze(0);
            foreach (var (x, y) in a.Top.Zip(b.Top))
                Protea.Tests.Prototypes.CellSimilarity.AssertSameOrTied(bundle, raw, 0, x.Prototype, x.ActivatedBox, y.ActivatedBox);
        }
    }
}
