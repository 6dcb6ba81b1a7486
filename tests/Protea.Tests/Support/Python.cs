using System.Diagnostics;

namespace Protea.Tests.Support;

/// <summary>Runs Debian's /usr/bin/python3 (torch, torchvision, sklearn, scipy, onnx) as a test oracle; <see cref="ModulePath"/> is on its PYTHONPATH.</summary>
public static class Python
{
    public const string Executable = "/usr/bin/python3";

    /// <summary>
    /// The folder of the shared Python helpers (tests/python, copied beside the test assembly):
    /// <c>protea_reference</c> defines the reference network once for the tests and bench/.
    /// </summary>
    public static string ModulePath => Path.Combine(AppContext.BaseDirectory, "python");

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
        psi.Environment["PYTHONPATH"] = ModulePath; // scripts may `import protea_reference`
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
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
