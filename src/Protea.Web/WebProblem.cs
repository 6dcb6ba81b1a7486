namespace Protea.Web;

/// <summary>A request the server refuses with a given HTTP status (413, 415, 404, 409...): sent as RFC 7807 problem details.</summary>
public sealed class WebProblem(int status, string title, string detail, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string? Field { get; } = field;

    public static WebProblem NotFound(string detail) => new(404, "Not found", detail);
    public static WebProblem Conflict(string detail, string? field = null) => new(409, "Conflict", detail, field);
}
