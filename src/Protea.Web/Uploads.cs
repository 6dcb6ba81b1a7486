using Microsoft.AspNetCore.Http;

namespace Protea.Web;

/// <summary>One uploaded image: a display name (never used as a path) and its bytes, checked to be PNG or JPEG.</summary>
public sealed record Upload(string Name, byte[] Bytes)
{
    public string ContentType => Uploads.IsPng(Bytes) ? "image/png" : "image/jpeg";
}

/// <summary>Reads the files of a multipart request, enforcing the caps and checking each file's type by its content.</summary>
public static class Uploads
{
    private static readonly byte[] PngMagic = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool IsPng(ReadOnlySpan<byte> b) => b.StartsWith(PngMagic);

    public static bool IsJpeg(ReadOnlySpan<byte> b) => b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;

    /// <summary>The request's form (fields and files), or a problem: not multipart (415), too large (413).</summary>
    public static async Task<IFormCollection> ReadFormAsync(HttpRequest request, CancellationToken cancellation)
    {
        if (!request.HasFormContentType)
            throw new WebProblem(415, "Unsupported media type", "send the images as multipart/form-data, field 'file'", "file");
        try
        {
            return await request.ReadFormAsync(cancellation);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(request);
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            throw TooLarge(request);
        }
        catch (InvalidDataException e)
        {
            throw new WebProblem(400, "Bad request", $"the multipart body could not be read: {e.Message}", "file");
        }
    }

    private static WebProblem TooLarge(HttpRequest request)
    {
        var cap = request.HttpContext.RequestServices.GetService(typeof(WebOptions)) is WebOptions o ? o.MaxUploadBytes : WebOptions.DefaultMaxUploadBytes;
        return new WebProblem(413, "Payload too large", $"the upload is larger than the server's cap of {Size(cap)}", "max_upload");
    }

    /// <summary>The images under field <paramref name="field"/>: at least one, at most the file cap, each non-empty PNG or JPEG.</summary>
    public static async Task<IReadOnlyList<Upload>> ImagesAsync(IFormCollection form, WebOptions options, CancellationToken cancellation, string field = "file")
    {
        var files = form.Files.GetFiles(field);
        if (files.Count == 0) throw new ProteaException($"no images were uploaded (multipart field '{field}')", field);
        if (files.Count > options.MaxFiles)
            throw new WebProblem(413, "Payload too large", $"{files.Count} files were uploaded; the server takes at most {options.MaxFiles} per request", "max_files");
        var result = new List<Upload>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var f = files[i];
            var name = DisplayName(f.FileName, i);
            if (f.Length == 0) throw new ProteaException($"{name}: the file is empty", field);
            if (f.Length > options.MaxUploadBytes)
                throw new WebProblem(413, "Payload too large", $"{name}: {Size(f.Length)} is larger than the server's cap of {Size(options.MaxUploadBytes)}", "max_upload");
            var bytes = new byte[f.Length];
            await using (var stream = f.OpenReadStream())
                await stream.ReadExactlyAsync(bytes, cancellation);
            if (!IsPng(bytes) && !IsJpeg(bytes))
                throw new WebProblem(415, "Unsupported media type", $"{name}: not a PNG or JPEG image (checked by its content, whatever its name says)", field);
            result.Add(new Upload(name, bytes));
        }
        return result;
    }

    /// <summary>The client's file name reduced to a short, harmless label (for display only), or "image N".</summary>
    public static string DisplayName(string? clientName, int index)
    {
        var last = (clientName ?? "").Replace('\\', '/').Split('/').LastOrDefault() ?? "";
        var clean = new string(last.Where(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '-' or ' ').Take(80).ToArray()).Trim();
        return clean.Length == 0 || clean.All(c => c == '.') ? $"image {index + 1}" : clean;
    }

    public static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.##} MB" : bytes >= 1024 ? $"{bytes / 1024.0:0.#} KB" : $"{bytes} bytes";
}
