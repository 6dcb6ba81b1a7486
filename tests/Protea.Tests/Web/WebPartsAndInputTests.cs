using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Protea.Data;
using Protea.Models;
using Protea.Prototypes;
using Protea.Tests.Support;
using Protea.Web;
using SkiaSharp;

namespace Protea.Tests.Web;

/// <summary>A parts model's prototype evidence through the API; the input checks and `protea serve`'s own errors.</summary>
public sealed class WebPartsAndInputTests
{
    internal static string SavePartsModel(TempDir dir)
    {
        using var data = Protea.Tests.Prototypes.Shapes.Make(4, seed: 3);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "parts", InputKind = InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = data.ClassNames, Normalization = InputNormalization.Fit(data.Inputs),
        };
        var path = dir.File("parts");
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        bundle.Save(path);
        return path;
    }

    [Fact]
    public async Task A_parts_model_shows_the_prototypes_the_library_explainer_finds()
    {
        using var dir = new TempDir();
        var model = SavePartsModel(dir);
        var image = TestImages.Write(dir.File("a.png"), 12, 12, (x, y) => x > 4 && x < 8 && y > 4 && y < 8 ? SKColors.White : SKColors.Black, gray: true);
        await using var server = await ProteaServer.StartAsync(new WebOptions { ModelDir = model, Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Address };
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(image));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "file", "a.png");
        using var response = await client.PostAsync("api/predict", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("prototypes", body.GetProperty("evidence_kind").GetString());
        var evidence = body.GetProperty("predictions")[0].GetProperty("evidence").EnumerateArray().ToArray();
        // A parts model keeps its prototype panels and also gets the Grad-CAM heat map.
        var saliency = body.GetProperty("predictions")[0].GetProperty("saliency");
        Assert.Equal(body.GetProperty("predictions")[0].GetProperty("class").GetString(), saliency.GetProperty("class").GetString());
        using (var map = await client.GetAsync(saliency.GetProperty("image_url").GetString()!.TrimStart('/')))
        {
            Assert.Equal(HttpStatusCode.OK, map.StatusCode);
            Assert.True(Protea.Web.Uploads.IsPng(await map.Content.ReadAsByteArrayAsync()));
        }

        // Oracle: the library's explainer on the same file (TorchSharp).
        var expected = PrototypeExplainer.ExplainFiles(model, [image])[0];
        Assert.Equal(expected.PredictedName, body.GetProperty("predictions")[0].GetProperty("class").GetString());
        Assert.Equal(expected.Top.Count, evidence.Length);
        for (var i = 0; i < evidence.Length; i++)
        {
            var e = evidence[i];
            Assert.Equal("prototype", e.GetProperty("kind").GetString());
            Assert.Equal(expected.Top[i].Prototype, e.GetProperty("prototype").GetInt32());
            Assert.Equal(expected.Top[i].ClassName, e.GetProperty("class").GetString());
            Assert.Equal(expected.Top[i].Similarity, e.GetProperty("similarity").GetDouble(), 1e-5);
            Assert.Equal(expected.Top[i].Contribution, e.GetProperty("contribution").GetDouble(), 1e-5);
            var box = e.GetProperty("box");
            Assert.Equal(expected.Top[i].ActivatedBox.X0, box.GetProperty("x0").GetInt32());
            Assert.Equal(expected.Top[i].ActivatedBox.Y1, box.GetProperty("y1").GetInt32());
            // The heat map: 12 x 12, scaled to 0..1 with its maximum where the library's map peaks.
            var heat = e.GetProperty("heat_map");
            var values = heat.GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal((12, 12, 144), (heat.GetProperty("width").GetInt32(), heat.GetProperty("height").GetInt32(), values.Length));
            Assert.All(values, v => Assert.InRange(v, 0f, 1f));
            var raw = expected.Top[i].HeatMap;
            if (raw.Max() > raw.Min()) Assert.Equal(1f, values[Array.IndexOf(raw, raw.Max())]);
        }

        // The class page lists the class's prototypes; the head cannot take new classes without training.
        using var bundle = ModelBundle.Load(model);
        var head = (PartsHead)bundle.Model.Head;
        var className = bundle.Description.ClassNames[1];
        var detail = JsonDocument.Parse(await client.GetStringAsync($"api/classes/{className}")).RootElement;
        Assert.Equal(Enumerable.Range(0, head.PrototypeCount).Where(j => head.PrototypeClasses[j] == 1),
            detail.GetProperty("prototypes").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()));
        var teach = new MultipartFormDataContent { { new StringContent("new"), "name" } };
        var file = new ByteArrayContent(await File.ReadAllBytesAsync(image));
        teach.Add(file, "file", "a.png");
        using var refused = await client.PostAsync("api/classes", teach);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("no class prototypes", await refused.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("sneaker", true)]
    [InlineData("Ankle boot", true)]
    [InlineData("t-shirt_2", true)]
    [InlineData("Äpfel", true)]
    [InlineData("../x", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData(".git", false)]
    [InlineData("-rf", false)]
    [InlineData("a\0b", false)]
    [InlineData("line\nbreak", false)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    public void Class_names_allow_words_and_refuse_anything_path_like(string name, bool allowed)
    {
        if (allowed) Assert.Equal(name, ClassNames.Check(name));
        else Assert.Equal("name", Assert.Throws<ProteaException>(() => ClassNames.Check(name)).Field);
    }

    [Fact]
    public void Names_sizes_and_magic_bytes()
    {
        Assert.Throws<ProteaException>(() => ClassNames.Check(new string('x', ClassNames.MaxLength + 1)));
        Assert.Equal("passwd", Uploads.DisplayName("../../etc/passwd", 0));
        Assert.Equal("x.png", Uploads.DisplayName("C:\\Users\\me\\x.png", 0));
        Assert.Equal("image 3", Uploads.DisplayName("..", 2));
        Assert.Equal("image 1", Uploads.DisplayName(null, 0));
        Assert.Equal(5L * 1024 * 1024, WebOptions.ParseSize("5MB"));
        Assert.Equal(512L * 1024, WebOptions.ParseSize("512 kb"));
        Assert.Equal(1000L, WebOptions.ParseSize("1000"));
        Assert.Equal("max_upload", Assert.Throws<ProteaException>(() => WebOptions.ParseSize("lots")).Field);
        Assert.Throws<ProteaException>(() => WebOptions.ParseSize("-1MB"));
        Assert.True(Uploads.IsPng([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]));
        Assert.False(Uploads.IsPng([0x89, 0x50, 0x4E, 0x47]));
        Assert.True(Uploads.IsJpeg([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.False(Uploads.IsJpeg("GIF89a"u8));
    }

    [Fact]
    public void Serve_refuses_bad_settings_in_one_line_exit_2()
    {
        using var dir = new TempDir();
        var model = SavePartsModel(dir);
        foreach (var (args, message) in new[]
        {
            (new[] { "serve", "--model", dir.File("missing") }, "no such model folder"),
            (new[] { "serve", "--model", model, "--max-upload", "lots" }, "--max-upload"),
            (new[] { "serve", "--model", model, "--host", "example.org" }, "--host"),
            (new[] { "serve", "--model", model, "--port", "70000" }, "--port"),
            (new[] { "serve", "--model", model, "--max-files", "0" }, "--max-files"),
        })
        {
            var r = CliRunner.Run(args);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(message, r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
    }
}

/// <summary>GET /api/prototypes/{id}.png: the gallery's picture of a pushed parts model; 404 problems otherwise.</summary>
public sealed class WebPrototypePictureTests(Protea.Tests.Prototypes.PartsEvidenceFixture f) : IClassFixture<Protea.Tests.Prototypes.PartsEvidenceFixture>
{
    [Fact]
    public async Task Prototype_pictures_are_the_gallerys_and_bad_ids_are_404_problems()
    {
        using var dir = new TempDir();
        // The oracle: the picture `protea prototypes` writes for the same prototype.
        var gallery = PrototypeGalleryPage.Write(f.Model, dir.File("gallery"));
        await using var server = await ProteaServer.StartAsync(new WebOptions { ModelDir = f.Model, Port = 0 });
        using var client = new HttpClient { BaseAddress = server.Address };
        using var bundle = ModelBundle.Load(f.Model);
        var head = (PartsHead)bundle.Model.Head;
        var detail = JsonDocument.Parse(await client.GetStringAsync($"api/classes/{bundle.Description.ClassNames[head.PrototypeClasses[0]]}")).RootElement;
        Assert.Contains("/api/prototypes/0.png", detail.GetProperty("prototypes").EnumerateArray().Select(p => p.GetProperty("picture").GetString()));
        for (var j = 0; j < head.PrototypeCount; j++)
        {
            using var r = await client.GetAsync($"api/prototypes/{j}.png");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("image/png", r.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir.File("gallery"), PrototypeGalleryPage.PictureFile(j))), await r.Content.ReadAsByteArrayAsync());
        }
        foreach (var bad in new[] { $"{head.PrototypeCount}.png", "-1.png", "0.jpg", "..%2Fmodel.json" })
        {
            using var r = await client.GetAsync($"api/prototypes/{bad}");
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        }
        Assert.Equal(head.PrototypeCount, gallery.Pictures.Count);

        // A prediction's prototype panels link those pictures (served above, byte for byte the gallery's).
        var shape = bundle.Description.InputShape;
        var png = await File.ReadAllBytesAsync(TestImages.Write(dir.File("q.png"), (int)shape[2], (int)shape[1],
            (x, y) => (x + 2 * y) % 5 == 0 ? SKColors.White : SKColors.Black, gray: shape[0] == 1));
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(png);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "file", "q.png");
        using var predicted = await client.PostAsync("api/predict", form);
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
        var evidence = JsonDocument.Parse(await predicted.Content.ReadAsStringAsync()).RootElement.GetProperty("predictions")[0].GetProperty("evidence").EnumerateArray().ToArray();
        Assert.NotEmpty(evidence);
        Assert.All(evidence, e => Assert.Equal($"/api/prototypes/{e.GetProperty("prototype").GetInt32()}.png", e.GetProperty("image_url").GetString()));
    }
}
