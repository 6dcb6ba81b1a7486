using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Protea.Predictions;
using Protea.Tests.Support;

namespace Protea.Tests.Web;

/// <summary>The JSON API against a real Kestrel on a free loopback port, with HttpClient.</summary>
public class WebApiTests(WebModelFixture fixture) : IClassFixture<WebModelFixture>
{
    private static MultipartFormDataContent Files(IEnumerable<byte[]> files, string? name = null, string fileName = "image.png")
    {
        var form = new MultipartFormDataContent();
        foreach (var f in files)
        {
            var content = new ByteArrayContent(f);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(content, "file", fileName);
        }
        if (name is not null) form.Add(new StringContent(name), "name");
        return form;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>A 4xx answer as problem details: the status in the body, a title and a detail mentioning <paramref name="detailPart"/>.</summary>
    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string detailPart)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.True(body.TryGetProperty("status", out _) && body.TryGetProperty("title", out _) && body.TryGetProperty("detail", out _), text);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("title").GetString()));
        Assert.Contains(detailPart, body.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    private static HttpClient Client(Protea.Web.ProteaServer server) => new() { BaseAddress = server.Address };

    private static string[] ClassNamesOf(JsonElement classes) => classes.EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();

    [Fact]
    public async Task Predict_matches_the_library_predictor_and_shows_nearest_training_items()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var inputs = fixture.HeldOut.Where((_, i) => i % 7 == 0).Take(4).ToArray();
        using var response = await client.PostAsync("api/predict", Files(inputs.Select(x => x.Png)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        Assert.Equal("nearest_training_items", body.GetProperty("evidence_kind").GetString());
        var predictions = body.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(inputs.Length, predictions.Length);

        // Oracle: the library's predictor on the same bytes (its own engine, opened here).
        using var predictor = Predictor.Open(fixture.ModelDir);
        var oracle = predictor.PredictImages(inputs.Select(x => (ReadOnlyMemory<byte>)x.Png).ToArray(), inputs.Select(_ => "x").ToArray());
        for (var i = 0; i < inputs.Length; i++)
        {
            var expected = oracle[i];
            var p = predictions[i];
            Assert.Equal(expected.Class, p.GetProperty("class").GetString());
            Assert.Equal(expected.Probability, p.GetProperty("probability").GetDouble(), 1e-9);
            var top = p.GetProperty("top").EnumerateArray().Select(t => (t.GetProperty("class").GetString()!, t.GetProperty("probability").GetDouble())).ToArray();
            Assert.Equal(expected.Top.Select(t => (t.Class, t.Probability)).Select(t => (t.Class, Math.Round(t.Probability, 9))),
                top.Select(t => (t.Item1, Math.Round(t.Item2, 9))));
            Assert.Equal(expected.UnknownScore!.Value, p.GetProperty("unknown_score").GetDouble(), 1e-9);
            Assert.Equal(expected.IsUnknown, p.GetProperty("is_unknown").GetBoolean());

            // Nearest training items of the predicted class, most similar first, each image served byte for byte.
            var evidence = p.GetProperty("evidence").EnumerateArray().ToArray();
            Assert.Equal(3, evidence.Length);
            var sims = evidence.Select(e => e.GetProperty("similarity").GetDouble()).ToArray();
            Assert.Equal(sims.OrderByDescending(s => s), sims);
            foreach (var e in evidence)
            {
                Assert.Equal("nearest_training_item", e.GetProperty("kind").GetString());
                Assert.Equal(expected.Class, e.GetProperty("class").GetString());
                var id = e.GetProperty("id").GetString()!;
                Assert.StartsWith(expected.Class + "/", id);
                var served = await client.GetByteArrayAsync(e.GetProperty("image_url").GetString()!.TrimStart('/'));
                Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fixture.Dir.File("data"), id)), served);
            }
        }
    }

    [Fact]
    public async Task Every_prediction_links_a_grad_cam_map_rendered_as_the_library_renders_it()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var inputs = new[] { fixture.HeldOut.First(h => h.Class == "trouser"), fixture.HeldOut.First(h => h.Class == "bag") };
        using var response = await client.PostAsync("api/predict", Files(inputs.Select(x => x.Png), fileName: "shot.png"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await Json(response)).GetProperty("predictions").EnumerateArray().ToArray();
        var urls = new List<string>();
        using var bundle = Protea.Models.ModelBundle.Load(fixture.ModelDir);
        var explainer = new Protea.Explanations.SaliencyExplainer(new Protea.Explanations.ExplainedModel(bundle), Protea.Explanations.Explainers.Create("gradcam"));
        for (var i = 0; i < inputs.Length; i++)
        {
            var p = predictions[i];
            var saliency = p.GetProperty("saliency");
            Assert.Equal("gradcam", saliency.GetProperty("method").GetString());
            Assert.Equal(p.GetProperty("class").GetString(), saliency.GetProperty("class").GetString());
            var url = saliency.GetProperty("image_url").GetString()!;
            Assert.Matches("^/api/saliency/[0-9a-f]{32}\\.png$", url);
            urls.Add(url);
            using var got = await client.GetAsync(url.TrimStart('/'));
            Assert.Equal(HttpStatusCode.OK, got.StatusCode);
            Assert.Equal("image/png", got.Content.Headers.ContentType?.MediaType);
            var served = await got.Content.ReadAsByteArrayAsync();

            // Oracle: the library's own chain (Grad-CAM for the predicted class, SaliencyOverlay) on the same bytes, pixel for pixel.
            using var raw = Protea.Data.ImageDecoder.DecodeMany([inputs[i].Png], ["shot.png"], 1, 28, 28);
            var expected = explainer.ExplainRaw(raw, ["shot.png"])[0];
            Assert.Equal(p.GetProperty("class").GetString(), expected.ClassName);
            Assert.True(expected.Map.Max() > 0, "the Grad-CAM map of the predicted class is all zero");
            var picture = Protea.Explanations.SaliencyOverlay.Render(raw.data<byte>().ToArray(), 1, expected with { Probability = p.GetProperty("probability").GetDouble() });
            using var a = SkiaSharp.SKBitmap.Decode(served);
            using var b = SkiaSharp.SKBitmap.Decode(picture);
            Assert.Equal((b.Width, b.Height), (a.Width, a.Height));
            Assert.Equal(b.Pixels, a.Pixels);
            // Asked again: the same picture (kept, not made again).
            Assert.Equal(served, await client.GetByteArrayAsync(url.TrimStart('/')));
        }
        Assert.NotEqual(urls[0], urls[1]);

        // Unknown or malformed ids are 404 problems, never a path.
        await AssertProblem(await client.GetAsync("api/saliency/" + new string('0', 32) + ".png"), HttpStatusCode.NotFound, "no saliency map");
        await AssertProblem(await client.GetAsync("api/saliency/..%2Fmodel.json"), HttpStatusCode.NotFound, "no saliency map");
        await AssertProblem(await client.GetAsync("api/saliency/" + urls[0][14..46].ToUpperInvariant() + ".png"), HttpStatusCode.NotFound, "no saliency map");
    }

    [Fact]
    public void The_saliency_notes_are_bounded_by_count_and_bytes_oldest_first()
    {
        var maps = new Protea.Web.SaliencyMaps(maxEntries: 3, maxBytes: 1000);
        var ids = Enumerable.Range(0, 5).Select(i => maps.Remember(new Protea.Web.Upload($"{i}", new byte[100]), 0, "a", 0.5, 1)).ToArray();
        Assert.Equal(3, maps.Count);
        Assert.False(maps.TryGet(ids[0], out _));
        Assert.False(maps.TryGet(ids[1], out _));
        Assert.True(maps.TryGet(ids[4], out var newest));
        Assert.True(maps.TryGet(ids[2], out var oldest));
        maps.Store(newest, new byte[750]);                 // 3 x 100 + 750 > 1000: the oldest note goes
        Assert.False(maps.TryGet(ids[2], out _));
        Assert.True(maps.TryGet(ids[4], out var kept));
        Assert.NotNull(kept.Png);
        Assert.Equal(2, maps.Count);
        Assert.Null(oldest.Png);
    }

    [Fact]
    public async Task Model_classes_health_and_openapi_describe_the_served_model()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var model = await Json(await client.GetAsync("api/model"));
        Assert.Equal("ncm", model.GetProperty("head").GetString());
        Assert.True(model.GetProperty("can_learn").GetBoolean());
        Assert.Equal(["bag", "trouser", "tshirt"], model.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToArray());
        // Examples per class are the kept index's training items (the validation split's are not in it).
        var classes = await Json(await client.GetAsync("api/classes"));
        var examples = classes.EnumerateArray().Select(c => c.GetProperty("examples").GetInt32()).ToArray();
        using (var index = Protea.Search.EmbeddingIndex.Load(Path.Combine(fixture.ModelDir, "train.index")))
            Assert.Equal(new[] { "bag", "trouser", "tshirt" }.Select(n => index.Labels.Count(l => index.ClassNames[(int)l] == n)), examples);
        Assert.All(examples, e => Assert.InRange(e, 40, 60));
        var bag = await Json(await client.GetAsync("api/classes/bag"));
        Assert.Equal(8, bag.GetProperty("examples").GetArrayLength());
        Assert.All(bag.GetProperty("examples").EnumerateArray(), e => Assert.StartsWith("bag/", e.GetProperty("id").GetString()));
        await AssertProblem(await client.GetAsync("api/classes/boat"), HttpStatusCode.NotFound, "boat");
        Assert.Equal("ok", (await Json(await client.GetAsync("healthz"))).GetProperty("status").GetString());
        var openapi = await Json(await client.GetAsync("openapi/v1.json"));
        var paths = openapi.GetProperty("paths");
        foreach (var path in new[] { "/api/predict", "/api/model", "/api/classes", "/api/classes/{name}", "/api/discover", "/api/clusters/{id}/adopt", "/api/saliency/{file}", "/healthz" })
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        var page = await client.GetStringAsync("");
        Assert.Contains("<title>Protea Studio</title>", page);
    }

    [Fact]
    public async Task Teaching_a_class_makes_it_predictable_in_the_next_request_and_saves_it()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        using var taught = await client.PostAsync("api/classes", Files(fixture.Sneakers.Take(5), "sneaker"));
        Assert.Equal(HttpStatusCode.Created, taught.StatusCode);
        var t = await Json(taught);
        Assert.Equal((3, 4, 5, 2), (t.GetProperty("classes_before").GetInt32(), t.GetProperty("classes_after").GetInt32(), t.GetProperty("images").GetInt32(),
            t.GetProperty("model_version").GetInt32()));
        // Saved into the model folder: the library opens it with four classes.
        var saved = Protea.Models.ModelBundle.ReadDescription(dir.File("model"));
        Assert.Equal(["bag", "trouser", "tshirt", "sneaker"], saved.ClassNames);

        // The next request sees the class; the server's answer equals the library's on the grown model.
        var held = fixture.Sneakers.Skip(5).Take(10).ToArray();
        var body = await Json(await client.PostAsync("api/predict", Files(held)));
        Assert.Equal(2, body.GetProperty("model_version").GetInt32());
        using var predictor = Predictor.Open(dir.File("model"));
        var predicted = body.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("class").GetString()).ToArray();
        Assert.Equal(held.Select(h => predictor.PredictImage(h, "x").Class), predicted);
        Assert.True(predicted.Count(c => c == "sneaker") >= 7, $"sneakers predicted as: {string.Join(", ", predicted)}");
        Assert.Equal(1, ClassNamesOf(await Json(await client.GetAsync("api/classes"))).Count(n => n == "sneaker"));
    }

    [Fact]
    public async Task Teaching_a_class_keeps_the_training_index_so_nearest_items_include_the_taught_ones()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var before = Protea.Models.ModelBundle.ReadDescription(fixture.ModelDir).TrainingIndex!.Items;
        var taught = fixture.Sneakers.Take(5).ToArray();
        using (var response = await client.PostAsync("api/classes", Files(taught, "sneaker")))
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        // Saved with the grown model: the index opens (bound to the new weights) with the five items appended.
        var modelDir = dir.File("model");
        Assert.Equal(before + 5, Protea.Models.ModelBundle.ReadDescription(modelDir).TrainingIndex!.Items);
        using (var kept = Protea.Search.NearestTrainingEvidence.Open(modelDir)!)
        {
            Assert.Equal(before + 5, kept.Index.Count);
            Assert.Equal(Enumerable.Range(0, 5).Select(k => $"sneaker/learned-{k}"), kept.Index.Ids.Skip(before));
            Assert.All(Enumerable.Range(before, 5), row => Assert.Equal("sneaker", kept.Index.LabelOf(row)));
        }

        // Oracle: the library's predictor on the grown model gives the embeddings; the nearest taught items by cosine, by hand.
        using var predictor = Predictor.Open(modelDir);
        var queries = taught.Concat(fixture.Sneakers.Skip(5).Take(5)).ToArray();
        var embeddings = predictor.PredictImages(taught.Select(x => (ReadOnlyMemory<byte>)x).ToArray(), taught.Select(_ => "t").ToArray())
            .Select(p => Unit(p.Embedding)).ToArray();
        var body = await Json(await client.PostAsync("api/predict", Files(queries)));
        var oracle = predictor.PredictImages(queries.Select(x => (ReadOnlyMemory<byte>)x).ToArray(), queries.Select(_ => "q").ToArray());
        var sneakers = 0;
        foreach (var (p, q) in body.GetProperty("predictions").EnumerateArray().Zip(oracle))
        {
            if (q.Class != "sneaker") continue;
            sneakers++;
            var query = Unit(q.Embedding);
            var expected = embeddings.Select((e, k) => (Id: $"sneaker/learned-{k}", Sim: e.Zip(query, (a, b) => a * b).Sum()))
                .OrderByDescending(x => x.Sim).Take(3).ToArray();
            var evidence = p.GetProperty("evidence").EnumerateArray().ToArray();
            Assert.Equal(expected.Select(x => x.Id), evidence.Select(e => e.GetProperty("id").GetString()));
            for (var j = 0; j < 3; j++)
            {
                Assert.Equal("nearest_training_item", evidence[j].GetProperty("kind").GetString());
                Assert.Equal(expected[j].Sim, evidence[j].GetProperty("similarity").GetDouble(), 1e-4);
                Assert.False(evidence[j].TryGetProperty("image_url", out _));    // a taught item has no file at hand
            }
        }
        Assert.True(sneakers >= 5, $"only {sneakers} of 10 sneakers are predicted as the taught class");

        // Old classes' evidence is as before: training items with their images.
        var trouser = await Json(await client.PostAsync("api/predict", Files([fixture.HeldOut.First(h => h.Class == "trouser").Png])));
        var old = trouser.GetProperty("predictions")[0].GetProperty("evidence").EnumerateArray().ToArray();
        Assert.Equal(3, old.Length);
        Assert.All(old, e => Assert.StartsWith("/api/training-items/", e.GetProperty("image_url").GetString()));
    }

    private static double[] Unit(IReadOnlyList<float> v)
    {
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => x / norm).ToArray();
    }

    [Fact]
    public async Task Bad_input_is_refused_with_problem_details_and_4xx()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir, maxUpload: 8 * 1024, maxFiles: 4);
        using var client = Client(server);
        var png = fixture.HeldOut[0].Png;

        // Oversized: one file over the cap, and a request body over it.
        var big = new byte[20 * 1024];
        png.CopyTo(big, 0);
        await AssertProblem(await client.PostAsync("api/predict", Files([big])), HttpStatusCode.RequestEntityTooLarge, "cap");
        await AssertProblem(await client.PostAsync("api/predict", Files(Enumerable.Repeat(big, 5))), HttpStatusCode.RequestEntityTooLarge, "");
        await AssertProblem(await client.PostAsync("api/predict", Files(Enumerable.Repeat(png, 5))), HttpStatusCode.RequestEntityTooLarge, "at most 4");
        // Wrong type by content, whatever the name says; a JPEG-looking name on text; a GIF.
        await AssertProblem(await client.PostAsync("api/predict", Files([Encoding.UTF8.GetBytes("not an image at all")], fileName: "cat.png")),
            HttpStatusCode.UnsupportedMediaType, "not a PNG or JPEG");
        await AssertProblem(await client.PostAsync("api/predict", Files([Encoding.ASCII.GetBytes("GIF89a\x01\x00\x01\x00")], fileName: "x.jpg")),
            HttpStatusCode.UnsupportedMediaType, "not a PNG or JPEG");
        // A PNG signature on broken data: decoding fails as the user's mistake.
        var broken = png.Take(40).ToArray();
        var brokenResponse = await client.PostAsync("api/predict", Files([broken]));
        Assert.Equal(HttpStatusCode.BadRequest, brokenResponse.StatusCode);
        // Empty file, no file, not multipart.
        await AssertProblem(await client.PostAsync("api/predict", Files([Array.Empty<byte>()])), HttpStatusCode.BadRequest, "empty");
        await AssertProblem(await client.PostAsync("api/predict", new MultipartFormDataContent { { new StringContent("x"), "other" } }), HttpStatusCode.BadRequest, "no images");
        await AssertProblem(await client.PostAsync("api/predict", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.UnsupportedMediaType, "multipart");
        // Class names: duplicate (any case), path-like, empty, too long, control characters.
        await AssertProblem(await client.PostAsync("api/classes", Files([png], "bag")), HttpStatusCode.Conflict, "already");
        await AssertProblem(await client.PostAsync("api/classes", Files([png], "Bag")), HttpStatusCode.Conflict, "already");
        foreach (var name in new[] { "../evil", "a/b", "..", ".hidden", "c:\\x", "x\\y", "/etc", "" , new string('a', 65), "tab\there" })
        {
            var response = await client.PostAsync("api/classes", Files([png], name));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("name", (await Json(response)).GetProperty("field").GetString());
        }
        // Nothing was written beside the model, and the model still has its three classes.
        Assert.Equal(["model"], Directory.GetFileSystemEntries(dir.Path).Select(p => Path.GetFileName(p)!).ToArray());
        Assert.Equal(3, Protea.Models.ModelBundle.ReadDescription(dir.File("model")).ClassNames.Count);
        // Unknown routes and clusters are problem details too; the server is still well.
        await AssertProblem(await client.PostAsync("api/clusters/nope/adopt", new StringContent("{\"name\":\"x\"}", Encoding.UTF8, "application/json")), HttpStatusCode.NotFound, "nope");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("api/training-items/99999")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("healthz")).StatusCode);
    }

    [Fact]
    public async Task Discovery_clusters_every_image_once_and_an_adopted_cluster_becomes_a_class()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var images = fixture.Sneakers.Take(12).Concat(fixture.HeldOut.Where(h => h.Class == "trouser").Take(4).Select(h => h.Png)).ToArray();
        using var response = await client.PostAsync("api/discover", Files(images));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        Assert.Equal(3, body.GetProperty("known_classes").GetInt32());
        var clusters = body.GetProperty("clusters").EnumerateArray().ToArray();
        var members = clusters.SelectMany(c => c.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("index").GetInt32())).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, images.Length), members);
        Assert.All(clusters, c => Assert.Equal(c.GetProperty("size").GetInt32(), c.GetProperty("members").GetArrayLength()));
        // Member images are served back byte for byte.
        var first = clusters[0].GetProperty("members")[0];
        Assert.Equal(images[first.GetProperty("index").GetInt32()], await client.GetByteArrayAsync(first.GetProperty("image_url").GetString()!.TrimStart('/')));
        // The cluster holding most sneakers is new (sneakers are not a known class) and adopting it adds a class once.
        var sneakerCluster = clusters.OrderByDescending(c => c.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("index").GetInt32() < 12)).First();
        Assert.Equal("new", sneakerCluster.GetProperty("matches").GetString());
        var id = sneakerCluster.GetProperty("id").GetString()!;
        using var adopted = await client.PostAsync($"api/clusters/{id}/adopt", new FormUrlEncodedContent([new("name", "sneaker")]));
        Assert.Equal(HttpStatusCode.Created, adopted.StatusCode);
        Assert.Equal(sneakerCluster.GetProperty("size").GetInt32(), (await Json(adopted)).GetProperty("images").GetInt32());
        await AssertProblem(await client.PostAsync($"api/clusters/{id}/adopt", new FormUrlEncodedContent([new("name", "sneaker2")])), HttpStatusCode.Conflict, "already adopted");
        Assert.Equal(["bag", "trouser", "tshirt", "sneaker"], ClassNamesOf(await Json(await client.GetAsync("api/classes"))));
        await AssertProblem(await client.PostAsync("api/discover", Files(images.Take(1))), HttpStatusCode.BadRequest, "at least 2");
    }

    [Fact]
    public async Task Predictions_running_while_a_class_is_taught_see_the_old_or_the_new_model_and_the_class_appears_once()
    {
        using var dir = new TempDir();
        await using var server = await fixture.Serve(dir);
        using var client = Client(server);
        var probe = fixture.Sneakers.Skip(10).Take(3).ToArray();
        var oldClasses = new[] { "bag", "trouser", "tshirt" };
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentBag<(int Version, string[] Classes, double Sum)>();
        async Task Reader()
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.PostAsync("api/predict", Files(probe));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var body = await Json(response);
                var version = body.GetProperty("model_version").GetInt32();
                foreach (var p in body.GetProperty("predictions").EnumerateArray())
                {
                    var top = p.GetProperty("top").EnumerateArray().ToArray();
                    seen.Add((version, top.Select(t => t.GetProperty("class").GetString()!).ToArray(), top.Sum(t => t.GetProperty("probability").GetDouble())));
                }
            }
        }
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(Reader)).ToArray();
        await Task.Delay(300);
        // Two writers teach the same name at once: one adds it, the other is told it exists.
        var teaches = await Task.WhenAll(client.PostAsync("api/classes", Files(fixture.Sneakers.Take(5), "sneaker")),
            client.PostAsync("api/classes", Files(fixture.Sneakers.Skip(5).Take(5), "sneaker")));
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Conflict], teaches.Select(t => t.StatusCode).Order().ToArray());
        await Task.Delay(500);
        stop.Cancel();
        await Task.WhenAll(readers);

        Assert.Contains(seen, s => s.Version == 1);
        Assert.Contains(seen, s => s.Version == 2);
        foreach (var (version, classes, sum) in seen)
        {
            // Version 1 knows three classes (top-3 sums to 1); version 2 four; never anything in between.
            Assert.InRange(version, 1, 2);
            if (version == 1) { Assert.Equal(oldClasses, classes.Order()); Assert.Equal(1.0, sum, 1e-6); }
            else { Assert.Subset(oldClasses.Append("sneaker").ToHashSet(), classes.ToHashSet()); Assert.True(sum < 1.0 + 1e-9); }
        }
        Assert.Equal(1, ClassNamesOf(await Json(await client.GetAsync("api/classes"))).Count(n => n == "sneaker"));
        Assert.Equal(4, Protea.Models.ModelBundle.ReadDescription(dir.File("model")).ClassNames.Count);
    }
}
