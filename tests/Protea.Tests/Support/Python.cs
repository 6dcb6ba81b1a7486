using System.Diagnostics;

namespace Protea.Tests.Support;

/// <summary>Runs Debian's /usr/bin/python3 (torch, torchvision, sklearn, scipy, onnx) as a test oracle.</summary>
public static class Python
{
    public const string Executable = "/usr/bin/python3";

    /// <summary>Runs a script given as text with arguments; returns stdout, throws with stderr on failure.</summary>
    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "2";
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"python3 failed ({p.ExitCode}):\n{stderr.Result}");
        return stdout;
    }
}
