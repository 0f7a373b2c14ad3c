using System.Diagnostics;
using Xunit;

namespace Distill.TestSupport;

/// <summary>
/// Python with scipy (Debian's python3-scipy, installed by .ci/bootstrap.sh) for tests that write reference files
/// with scipy.io.savemat while they run.
/// </summary>
public static class Scipy
{
    private static readonly Lazy<string?> Found = new(Find);

    /// <summary>The interpreter that imports scipy.io, or null.</summary>
    public static string? Python => Found.Value;

    /// <summary>Why tests needing scipy cannot run here, or null when they can.</summary>
    public static string? Missing => Python is null
        ? "python3 with scipy was not found (install python3-scipy, as .ci/bootstrap.sh does)"
        : null;

    /// <summary>Runs <paramref name="script"/> (Python source) with <paramref name="args"/>; fails with its stderr.</summary>
    public static void Run(string script, params string[] args)
    {
        string python = Python ?? throw new InvalidOperationException(Missing);
        string file = Path.Combine(Path.GetTempPath(), $"distill-scipy-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, script);
        try
        {
            var start = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
            start.ArgumentList.Add(file);
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            string stdout = process.StandardOutput.ReadToEnd();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{python} failed ({process.ExitCode}):\n{stderr}{stdout}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string? Find()
    {
        // Debian's interpreter first: a python3 earlier on PATH (pyenv, a virtualenv) may lack the Debian packages.
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var start = new ProcessStartInfo(candidate, ["-c", "import scipy.io"]) { RedirectStandardError = true, RedirectStandardOutput = true };
                using var process = Process.Start(start);
                if (process is null) continue;
                process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed under that name
            }
        }
        return null;
    }
}

/// <summary>
/// A fact that needs python3 with scipy. Where they are missing it is skipped with the reason, except when
/// DISTILL_REQUIRE_SCIPY or CI is set (.ci/run sets the first; bootstrap installs scipy), where it runs and fails.
/// </summary>
public sealed class ScipyFactAttribute : FactAttribute
{
    public ScipyFactAttribute()
    {
        bool required = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISTILL_REQUIRE_SCIPY"))
                        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
        if (Scipy.Missing is { } reason && !required) Skip = reason;
    }
}
