using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Protea.Web;

/// <summary>A started web app (tests, embedding hosts): its address, and stopping it on dispose.</summary>
public sealed class ProteaServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private ProteaServer(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:39811/ (the port Kestrel took when asked for 0).</summary>
    public Uri Address { get; }

    public static async Task<ProteaServer> StartAsync(WebOptions options, CancellationToken cancellation = default)
    {
        var app = ProteaWebApp.Build(options);
        await app.StartAsync(cancellation);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ProteaServer(app, new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
