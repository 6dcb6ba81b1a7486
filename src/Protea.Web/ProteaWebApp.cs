using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Protea.Explanations;
using Protea.Incremental;
using Protea.Models;
using Protea.Predictions;
using Protea.Prototypes;
using Protea.Search;

namespace Protea.Web;

/// <summary>
/// `protea serve`: the web app over a saved image model, an ASP.NET Core minimal API on Kestrel with the
/// page embedded. <see cref="Build"/> makes the application (the caller runs it); every endpoint is
/// listed in the OpenAPI document at /openapi/v1.json.
/// </summary>
public static class ProteaWebApp
{
    public static WebApplication Build(WebOptions options, ILoggerProvider? logging = null)
    {
        options.Check();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ProteaWebApp).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (logging is not null) builder.Logging.AddProvider(logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Address(), options.Port);
            // Multipart framing (boundaries, headers) on top of the files themselves.
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes + 64 * 1024;
            k.AddServerHeader = false;
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxUploadBytes + 64 * 1024;
            f.ValueCountLimit = 4096;
        });
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            j.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            j.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        var host = new ModelHost(options.ModelDir, options.Threads);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(host);
        builder.Services.AddSingleton(new Discoveries());
        builder.Services.AddSingleton(new SaliencyMaps());

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(host.Dispose);
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
            await next(context);
        });
        app.UseMiddleware<Problems>();
        // Answers the routing gives itself (no such endpoint, wrong method or content type) as problem details with a detail.
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            var detail = status switch
            {
                404 => $"no such endpoint: {http.Request.Method} {http.Request.Path}",
                405 => $"{http.Request.Method} is not allowed on {http.Request.Path}",
                415 => $"content type '{http.Request.ContentType}' is not accepted on {http.Request.Path}; send the images as multipart/form-data",
                _ => null,
            };
            await Results.Problem(detail, statusCode: status).ExecuteAsync(http);
        });
        app.MapOpenApi();
        Map(app);
        return app;
    }

    private static void Map(WebApplication app)
    {
        app.MapGet("/", () => StaticPage.Serve("index.html")).ExcludeFromDescription();
        app.MapGet("/app.js", () => StaticPage.Serve("app.js")).ExcludeFromDescription();
        app.MapGet("/app.css", () => StaticPage.Serve("app.css")).ExcludeFromDescription();
        app.MapGet("/healthz", (ModelHost host) =>
        {
            using var lease = host.Acquire();
            return Results.Ok(new { status = "ok", model_version = lease.Snapshot.Version });
        }).WithSummary("Liveness: the model is open");

        var api = app.MapGroup("/api");
        api.MapPost("/predict", Predict).WithSummary("Classify uploaded PNG/JPEG images (multipart field 'file', several allowed)")
            .Accepts<IFormFileCollection>("multipart/form-data").Produces<PredictResponse>().ProducesProblem(400).ProducesProblem(413).ProducesProblem(415);
        api.MapGet("/model", ModelInfo).WithSummary("The served model: classes, architecture, head, metrics, format version").Produces<ModelView>();
        api.MapGet("/classes", Classes).WithSummary("The model's classes").Produces<ClassSummary[]>();
        api.MapGet("/classes/{name}", ClassInfo).WithSummary("One class: training examples (kept index) and prototypes (parts head)")
            .Produces<ClassDetail>().ProducesProblem(404);
        api.MapPost("/classes", Teach).WithSummary("Teach a new class from a few images (multipart: 'name' and 'file's); the grown model is saved atomically")
            .Accepts<IFormFileCollection>("multipart/form-data").Produces<TaughtClass>(201).ProducesProblem(400).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415);
        api.MapGet("/prototypes/{file}", PrototypePicture).WithSummary("A parts model's prototype: its source patch in its training image, beside its activation (GET /api/prototypes/{id}.png)")
            .Produces(200, contentType: "image/png").ProducesProblem(404);
        api.MapGet("/saliency/{file}", SaliencyPicture).WithSummary("A prediction's Grad-CAM map for its predicted class (input, overlay, map), made when first asked for; kept for recent predictions only")
            .Produces(200, contentType: "image/png").ProducesProblem(404);
        api.MapGet("/training-items/{row:int}", TrainingItem).WithSummary("A training image the kept index points at (nearest-item evidence)")
            .Produces(200, contentType: "image/png").ProducesProblem(404);
        api.MapPost("/discover", Discover).WithSummary("Cluster a batch of unlabelled images (multipart 'file's, optional 'k' new clusters) with the known classes")
            .Accepts<IFormFileCollection>("multipart/form-data").Produces<DiscoverResponse>().ProducesProblem(400).ProducesProblem(413).ProducesProblem(415);
        api.MapGet("/clusters/{id}", (string id, Discoveries d) => Results.Ok(d.Get(id).View())).WithSummary("One discovered cluster").Produces<ClusterView>().ProducesProblem(404);
        api.MapGet("/clusters/{id}/images/{index:int}", ClusterImage).WithSummary("An image of a discovered cluster").Produces(200, contentType: "image/png").ProducesProblem(404);
        api.MapPost("/clusters/{id}/adopt", Adopt).WithSummary("Adopt a discovered cluster as a new class (form or JSON field 'name')")
            .Produces<TaughtClass>(201).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
    }

    private static async Task<IResult> Predict(HttpRequest request, WebOptions options, ModelHost host, SaliencyMaps saliency,
        Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken cancellation)
    {
        var form = await Uploads.ReadFormAsync(request, cancellation);
        var uploads = await Uploads.ImagesAsync(form, options, cancellation);
        var top = options.Top;
        if (form.TryGetValue("top", out var t) && t.Count > 0)
            top = int.TryParse(t[0], out var parsed) && parsed >= 1 ? parsed : throw new ProteaException($"top '{t[0]}' must be a whole number of at least 1", "top");
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        var (predictions, prototypes) = await s.PredictAsync(uploads, top);
        var views = predictions.Select((p, i) => View(s, p, prototypes?[i]) with
        {
            Saliency = new SaliencyView(Explainers.Default, p.Class,
                $"/api/saliency/{saliency.Remember(uploads[i], IndexOf(s.Description.ClassNames, p.Class), p.Class, p.Probability, s.Version)}.png"),
        }).ToArray();
        // Serialised whole (the answer is small): sent with its length in one write rather than chunked.
        return Results.Bytes(JsonSerializer.SerializeToUtf8Bytes(new PredictResponse(s.Version, s.EvidenceKind, views), json.Value.SerializerOptions),
            "application/json; charset=utf-8");
    }

    private static PredictionView View(ModelSnapshot s, Prediction p, PrototypeExplanation? prototypes)
    {
        var evidence = new List<EvidenceView>();
        var pictures = s.Parts?.Model.Head is PartsHead { Gallery: not null };
        if (prototypes is not null)
            evidence.AddRange(prototypes.Top.Select(e => new EvidenceView("prototype", e.ClassName, e.Similarity)
            {
                Prototype = e.Prototype,
                Contribution = e.Contribution,
                Share = e.Share,
                Box = new Box(e.ActivatedBox.X0, e.ActivatedBox.Y0, e.ActivatedBox.X1, e.ActivatedBox.Y1),
                HeatMap = new HeatMap(e.Width, e.Height, Scaled(e.HeatMap)),
                SourceItem = e.Source?.ItemId,
                ImageUrl = pictures ? $"/api/prototypes/{e.Prototype}.png" : null,
            }));
        foreach (var e in p.Evidence ?? [])
            if (e is NearestItemEvidence n)
                evidence.Add(new EvidenceView(n.Kind, n.Label, n.Similarity)
                {
                    Id = n.Id,
                    ImageUrl = n.Path is not null && s.RowById.TryGetValue(n.Id, out var row) && s.HasImage(row) ? $"/api/training-items/{row}" : null,
                });
        return new PredictionView(p.Input, p.Class, p.Probability, p.Top.Select(c => new ClassScore(c.Class, c.Probability)).ToArray(),
            p.UnknownScore, p.IsUnknown, evidence);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++) if (names[i] == name) return i;
        throw new InvalidOperationException($"the predicted class '{name}' is not one of the model's classes");
    }

    private static IResult SaliencyPicture(string file, ModelHost host, SaliencyMaps saliency)
    {
        var id = file.EndsWith(".png", StringComparison.Ordinal) ? file[..^4] : "";
        if (id.Length != 32 || !id.All(char.IsAsciiHexDigitLower) || !saliency.TryGet(id, out var entry))
            throw WebProblem.NotFound($"no saliency map '{(file.Length > 40 ? file[..40] + "..." : file)}' is at hand: maps are kept for the last {saliency.MaxEntries} predictions; predict the image again");
        var png = entry.Png;
        if (png is null)
        {
            using var lease = host.Acquire();
            png = lease.Snapshot.SaliencyPng(entry);
            saliency.Store(entry, png);
        }
        return Results.Bytes(png, "image/png");
    }

    private static float[] Scaled(float[] map)
    {
        if (map.Length == 0) return map;
        var (lo, hi) = (map.Min(), map.Max());
        var range = hi - lo;
        return map.Select(v => range > 0 ? MathF.Round((v - lo) / range, 3) : 0f).ToArray();
    }

    private static IResult ModelInfo(ModelHost host, WebOptions options)
    {
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        var d = s.Description;
        var prototypes = s.Parts?.Model.Head is PartsHead h ? h.PrototypeCount : 0;
        return Results.Ok(new ModelView(s.Version, d.Architecture, d.Head, d.FormatVersion, d.InputShape, d.ClassNames, d.Metrics, s.Predictor.EngineName,
            s.Predictor.Unknown is not null, s.EvidenceKind, s.CanLearn, prototypes, options.MaxUploadBytes, options.MaxFiles));
    }

    private static IResult Classes(ModelHost host)
    {
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        var counts = s.Nearest?.Index.Labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        return Results.Ok(s.Description.ClassNames.Select((name, i) => new ClassSummary(i, name,
            counts is null ? null : counts.GetValueOrDefault(IndexIn(s.Nearest!.Index.ClassNames, name), 0))).ToArray());
    }

    private static long IndexIn(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++) if (names[i] == name) return i;
        return -1;
    }

    private static IResult ClassInfo(string name, ModelHost host)
    {
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        var index = (int)IndexIn(s.Description.ClassNames, name);
        if (index < 0) throw WebProblem.NotFound($"class '{(name.Length > 40 ? name[..40] + "..." : name)}' is not one of the model's classes");
        var examples = new List<ExampleView>();
        if (s.Nearest?.Index is { } idx)
        {
            var c = IndexIn(idx.ClassNames, name);
            for (var row = 0; row < idx.Count && examples.Count < 8; row++)
                if (idx.Labels[row] == c)
                    examples.Add(new ExampleView(idx.Ids[row], s.HasImage(row) ? $"/api/training-items/{row}" : null));
        }
        var prototypes = new List<PrototypeView>();
        if (s.Parts?.Model.Head is PartsHead head)
            for (var j = 0; j < head.PrototypeCount; j++)
                if (head.PrototypeClasses[j] == index)
                {
                    var src = head.Sources[j];
                    prototypes.Add(new PrototypeView(j, null, src?.ItemId, src is null ? null : new Box(src.Box.X0, src.Box.Y0, src.Box.X1, src.Box.Y1))
                    {
                        Picture = head.Gallery is null ? null : $"/api/prototypes/{j}.png",
                    });
                }
        return Results.Ok(new ClassDetail(index, name, examples, prototypes));
    }

    private static IResult PrototypePicture(string file, ModelHost host)
    {
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        if (s.Parts?.Model.Head is not PartsHead head)
            throw WebProblem.NotFound("the served model has no prototypes (it was not trained with the parts head)");
        if (!file.EndsWith(".png", StringComparison.Ordinal) || !int.TryParse(file[..^4], System.Globalization.NumberStyles.None, null, out var j) || j >= head.PrototypeCount)
            throw WebProblem.NotFound($"no prototype '{(file.Length > 20 ? file[..20] + "..." : file)}': prototypes are 0.png to {head.PrototypeCount - 1}.png");
        if (head.Gallery is not { } gallery)
            throw WebProblem.NotFound("the served model keeps no prototype pictures (it was saved before push)");
        var className = s.Description.ClassNames[head.PrototypeClasses[j]];
        return Results.Bytes(PrototypeGalleryPage.Render(gallery, j, head.Sources[j], className), "image/png");
    }

    private static async Task<IResult> TrainingItem(int row, ModelHost host, CancellationToken cancellation)
    {
        string? path;
        using (var lease = host.Acquire())
        {
            var index = lease.Snapshot.Nearest?.Index;
            path = index is not null && row >= 0 && row < index.Count ? index.PathOf(row) : null;
        }
        if (path is null || !File.Exists(path)) throw WebProblem.NotFound($"no training image {row} is at hand");
        var bytes = await File.ReadAllBytesAsync(path, cancellation);
        if (Uploads.IsPng(bytes)) return Results.Bytes(bytes, "image/png");
        if (Uploads.IsJpeg(bytes)) return Results.Bytes(bytes, "image/jpeg");
        throw WebProblem.NotFound($"training image {row} is not a PNG or JPEG the page can show");
    }

    private static async Task<IResult> Teach(HttpRequest request, WebOptions options, ModelHost host, CancellationToken cancellation)
    {
        var form = await Uploads.ReadFormAsync(request, cancellation);
        var name = ClassNames.Check(form["name"].FirstOrDefault());
        var uploads = await Uploads.ImagesAsync(form, options, cancellation);
        return await Learn(host, name, uploads, cancellation);
    }

    private static async Task<IResult> Learn(ModelHost host, string name, IReadOnlyList<Upload> uploads, CancellationToken cancellation)
    {
        using (var lease = host.Acquire())
        {
            if (!lease.Snapshot.CanLearn)
                throw WebProblem.Conflict($"the model's head is '{lease.Snapshot.Description.Head}', which has no class prototypes; classes can be added to ncm or cosine models", "name");
            CheckNew(lease.Snapshot.Description.ClassNames, name);
        }
        var result = await host.ChangeAsync(dir =>
        {
            // Checked again as the only writer: two requests teaching the same name add it once.
            var description = ModelBundle.ReadDescription(dir);
            CheckNew(description.ClassNames, name);
            var shape = description.InputShape;
            using var images = Data.ImageDecoder.DecodeMany(uploads.Select(u => (ReadOnlyMemory<byte>)u.Bytes).ToList(), uploads.Select(u => u.Name).ToList(),
                (int)shape[0], (int)shape[1], (int)shape[2]);
            return ClassLearner.AddClasses(dir, [new NewClass(name, images)]);
        }, cancellation);
        int version;
        using (var lease = host.Acquire()) version = lease.Snapshot.Version;
        return Results.Json(new TaughtClass(name, result.ImagesUsed, result.ClassesBefore, result.ClassesAfter, result.Method, result.Onnx, version),
            statusCode: StatusCodes.Status201Created);
    }

    private static void CheckNew(IReadOnlyList<string> classes, string name)
    {
        if (classes.Any(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase)))
            throw WebProblem.Conflict($"class '{name}' is already one of the model's classes", "name");
    }

    private static async Task<IResult> Discover(HttpRequest request, WebOptions options, ModelHost host, Discoveries discoveries, CancellationToken cancellation)
    {
        var form = await Uploads.ReadFormAsync(request, cancellation);
        var uploads = await Uploads.ImagesAsync(form, options, cancellation);
        int? k = null;
        if (form.TryGetValue("k", out var kText) && kText.Count > 0 && !string.IsNullOrWhiteSpace(kText[0]))
            k = int.TryParse(kText[0], out var parsed) ? parsed : throw new ProteaException($"k '{kText[0]}' must be a whole number", "k");
        using var lease = host.Acquire();
        var s = lease.Snapshot;
        return Results.Ok(await discoveries.DiscoverAsync(s, uploads, k));
    }

    private static IResult ClusterImage(string id, int index, Discoveries discoveries)
    {
        var cluster = discoveries.Get(id);
        if (index < 0 || index >= cluster.Members.Count) throw WebProblem.NotFound($"cluster '{id}' has no image {index}");
        var u = cluster.Members[index];
        return Results.Bytes(u.Bytes, u.ContentType);
    }

    private static async Task<IResult> Adopt(string id, HttpRequest request, ModelHost host, Discoveries discoveries, CancellationToken cancellation)
    {
        var cluster = discoveries.Get(id);
        string? raw;
        if (request.HasFormContentType) raw = (await Uploads.ReadFormAsync(request, cancellation))["name"].FirstOrDefault();
        else if (request.HasJsonContentType())
        {
            try
            {
                using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellation);
                raw = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            }
            catch (JsonException e)
            {
                throw new ProteaException($"the request body is not JSON: {e.Message}", "name");
            }
        }
        else raw = request.Query["name"].FirstOrDefault();
        var name = ClassNames.Check(raw);
        lock (cluster)
        {
            if (cluster.AdoptedAs is not null) throw WebProblem.Conflict($"cluster '{id}' was already adopted as class '{cluster.AdoptedAs}'");
            cluster.AdoptedAs = "";
        }
        try
        {
            var result = await Learn(host, name, cluster.Members, cancellation);
            cluster.AdoptedAs = name;
            return result;
        }
        catch
        {
            cluster.AdoptedAs = null;
            throw;
        }
    }
}
