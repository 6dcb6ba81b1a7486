using System.Collections.Concurrent;
using Protea.Discovery;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Web;

/// <summary>A cluster found by a discovery, held in memory until it is adopted or the session ages out.</summary>
public sealed class HeldCluster(string id, string matches, IReadOnlyList<Upload> members, IReadOnlyList<ClusterMember> views)
{
    public string Id { get; } = id;
    public string Matches { get; } = matches;
    public IReadOnlyList<Upload> Members { get; } = members;
    public IReadOnlyList<ClusterMember> Views { get; } = views;
    public string? AdoptedAs { get; set; }

    public ClusterView View() => new(Id, Matches, Members.Count, Views, AdoptedAs is not null, AdoptedAs);
}

/// <summary>
/// `POST /api/discover`: the uploaded, unlabelled images are embedded by the served model and clustered
/// with <see cref="SemiSupervisedKMeans"/> together with the known classes' normalised means (ncm and
/// cosine heads; one labelled item per known class, so cluster c stands for class c and the others are
/// new); k is given as the number of new clusters or estimated by silhouette (<see cref="KEstimator"/>).
/// The clusters stay in memory (the last <see cref="KeptSessions"/> discoveries) to be inspected and adopted.
/// </summary>
public sealed class Discoveries
{
    public const int KeptSessions = 16;
    public const int MaxNewClusters = 20;

    private readonly ConcurrentDictionary<string, HeldCluster> clusters = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Session, string[] Ids)> sessions = new();

    public HeldCluster Get(string id) => clusters.TryGetValue(id, out var c) ? c
        : throw WebProblem.NotFound($"cluster '{Trim(id)}' is not known (discoveries are kept in memory for the last {KeptSessions} runs)");

    public async Task<DiscoverResponse> DiscoverAsync(ModelSnapshot snapshot, IReadOnlyList<Upload> uploads, int? newClusters)
    {
        if (uploads.Count < 2) throw new ProteaException($"discovery needs at least 2 images, not {uploads.Count}", "file");
        if (newClusters is { } requested && (requested < 1 || requested > Math.Min(uploads.Count, MaxNewClusters)))
            throw new ProteaException($"the number of new clusters must be between 1 and {Math.Min(uploads.Count, MaxNewClusters)}, not {requested}", "k");
        var (predictions, _) = await snapshot.PredictAsync(uploads, 1, evidence: false);
        return await Task.Run(() => Cluster(snapshot, uploads, newClusters, predictions));
    }

    private DiscoverResponse Cluster(ModelSnapshot snapshot, IReadOnlyList<Upload> uploads, int? newClusters, IReadOnlyList<Protea.Predictions.Prediction> predictions)
    {
        var names = snapshot.Description.ClassNames;
        var known = snapshot.KnownMeans is null ? 0 : names.Count;
        var n = uploads.Count;
        var dim = predictions[0].Embedding.Count;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var z = nn.functional.normalize(tensor(predictions.SelectMany(p => p.Embedding).ToArray(), [n, dim]), dim: 1);
        var x = known > 0 ? cat([tensor(snapshot.KnownMeans!, [known, dim]), z], 0) : z;
        var labels = Enumerable.Range(0, known).Select(c => (long)c).Concat(Enumerable.Repeat(-1L, n)).ToArray();
        var total = known + n;
        var options = new KMeansOptions { Restarts = 3, Seed = 0 };
        int k;
        if (newClusters is { } given) k = known + given;
        else
        {
            var kMin = Math.Max(known + 1, 2);
            var kMax = Math.Min(known + Math.Min(Math.Max(1, n / 2), MaxNewClusters), total - 1);
            k = kMin >= kMax ? Math.Min(kMin, total) : KEstimator.Estimate(x, labels, kMin, kMax, KEstimator.SilhouetteCriterion, options).K;
        }
        using var fit = SemiSupervisedKMeans.Fit(x, labels, k, options);
        var distances = (x - fit.Centroids.index_select(0, tensor(fit.Assignments.Select(a => (long)a).ToArray()))).square().sum(1).ToFloats();
        var session = Guid.NewGuid().ToString("N")[..10];
        var views = new List<HeldCluster>();
        for (var c = 0; c < k; c++)
        {
            var members = Enumerable.Range(0, n).Where(i => fit.Assignments[known + i] == c).OrderBy(i => distances[known + i]).ThenBy(i => i).ToArray();
            if (members.Length == 0) continue;
            var id = $"{session}-{c}";
            var memberViews = members.Select(i => new ClusterMember(i, uploads[i].Name, $"/api/clusters/{id}/images/{Array.IndexOf(members, i)}",
                predictions[i].Class, predictions[i].Probability)).ToArray();
            views.Add(new HeldCluster(id, c < known ? names[c] : CategoryDiscovery.New, members.Select(i => uploads[i]).ToArray(), memberViews));
        }
        foreach (var v in views) clusters[v.Id] = v;
        sessions.Enqueue((session, views.Select(v => v.Id).ToArray()));
        while (sessions.Count > KeptSessions && sessions.TryDequeue(out var old))
            foreach (var id in old.Ids) clusters.TryRemove(id, out _);
        var ordered = views.OrderBy(v => v.Matches == CategoryDiscovery.New ? 0 : 1).ThenByDescending(v => v.Members.Count).Select(v => v.View()).ToArray();
        return new DiscoverResponse(session, n, k, known, ordered);
    }

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
