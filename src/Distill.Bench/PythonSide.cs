using System.Diagnostics;
using System.Globalization;

namespace Distill.Bench;

/// <summary>
/// The PyTorch process of a benchmark, kept alive between repetitions so both sides alternate on a warm machine.
/// It answers one line per command line; a reply starting with "error" stops the run with that message.
/// </summary>
internal sealed class PythonSide : IDisposable
{
    private readonly Process _p;
    private readonly string _script;

    private PythonSide(Process p, string script)
    {
        _p = p;
        _script = script;
    }

    /// <summary>The "ready ..." line's text after "ready " (PyTorch version and threads).</summary>
    public string Banner { get; private init; } = "";

    public static PythonSide Start(string python, string script, IEnumerable<string> args)
    {
        if (!File.Exists(script)) throw new FileNotFoundException($"benchmark script not found: {script}", script);
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {python}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot start {python} ({e.Message}); install python3-torch (.ci/bootstrap.sh --bench)", e);
        }
        var ready = p.StandardOutput.ReadLine();
        if (ready is null || !ready.StartsWith("ready", StringComparison.Ordinal))
        {
            p.Dispose();
            throw new InvalidOperationException($"{python} {script} did not start (is python3-torch installed? .ci/bootstrap.sh --bench)");
        }
        return new PythonSide(p, script) { Banner = ready.Length > 6 ? ready[6..] : "" };
    }

    /// <summary>Sends one command and returns the reply line.</summary>
    public string Request(string command)
    {
        _p.StandardInput.WriteLine(command);
        _p.StandardInput.Flush();
        var line = _p.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"the PyTorch side ({Path.GetFileName(_script)}) exited during '{command}'");
        if (line.StartsWith("error", StringComparison.Ordinal))
            throw new InvalidOperationException($"the PyTorch side failed on '{command}': {line[5..].Trim()}");
        return line;
    }

    /// <summary>Sends a timing command and parses the median seconds it replies.</summary>
    public double Time(string command)
    {
        var line = Request(command);
        return double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out var s)
            ? s
            : throw new InvalidOperationException($"the PyTorch side replied '{line}' to '{command}', not a time in seconds");
    }

    public void Dispose()
    {
        try
        {
            _p.StandardInput.WriteLine("quit");
            _p.StandardInput.Flush();
            if (!_p.WaitForExit(10000)) _p.Kill();
        }
        catch (IOException)
        {
        }
        catch (InvalidOperationException)
        {
        }
        _p.Dispose();
    }
}
