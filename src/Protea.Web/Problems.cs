using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Protea.Web;

/// <summary>
/// Turns every failure of a request into RFC 7807 problem details: a <see cref="WebProblem"/> with its
/// status, a <see cref="ProteaException"/> (a user's mistake in the library's words) as 400, a request
/// Kestrel refused (body too large...) with its status; anything else is logged and sent as a 500 without
/// internals.
/// </summary>
public sealed class Problems(RequestDelegate next, ILogger<Problems> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, title, detail, field) = Describe(e);
            if (status >= 500) logger.LogError(e, "request {Path} failed", context.Request.Path);
            context.Response.Clear();
            var extensions = field is null ? null : new Dictionary<string, object?> { ["field"] = field };
            await Results.Problem(detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
        }
    }

    public static (int Status, string Title, string Detail, string? Field) Describe(Exception e) => Unwrap(e) switch
    {
        WebProblem p => (p.Status, p.Title, p.Message, p.Field),
        ProteaException p => (400, "Bad request", p.Message, p.Field),
        BadHttpRequestException b => (b.StatusCode, b.StatusCode == 413 ? "Payload too large" : "Bad request", b.Message, null),
        _ => (500, "Internal error", "the server failed on this request; details are in its log", null),
    };

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        return e;
    }
}
