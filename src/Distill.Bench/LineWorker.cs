using System.Diagnostics;

namespace Distill.Bench;

/// <summary>
/// A worker process of a benchmark driven over its standard input: one command per line, one reply line each, a
/// reply starting with "error" being a failure. Commands and replies are split so that the ranks of one
/// data-parallel group can all be sent a command that communicates before any reply is awaited.
/// </summary>
internal sealed class LineWorker : IDisposable
{
    private readonly Process _p;
    private string? _pending;

    /// <summary>Who this is in messages, e.g. "PyTorch rank 1".</summary>
    public string Name { get; }

    private readonly string _what, _hint;

    /// <summary>The "ready ..." line's text after "ready " (library version and threads), once <see cref="WaitReady"/> has read it.</summary>
    public string Banner { get; private set; } = "";

    private LineWorker(Process p, string name, string what, string hint)
    {
        _p = p;
        Name = name;
        _what = what;
        _hint = hint;
    }

    /// <summary>
    /// Starts <paramref name="psi"/> with standard input and output redirected; <see cref="WaitReady"/> then waits for
    /// its "ready" line, so that several workers can start at once.
    /// </summary>
    /// <param name="hint">What to do when it does not start, e.g. which package to install.</param>
    public static LineWorker Start(ProcessStartInfo psi, string name, string hint)
    {
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException($"{name}: cannot start {psi.FileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{name}: cannot start {psi.FileName} ({e.Message}); {hint}", e);
        }
        return new LineWorker(p, name, $"{psi.FileName} {string.Join(' ', psi.ArgumentList)}", hint);
    }

    public void WaitReady()
    {
        var ready = _p.StandardOutput.ReadLine();
        if (ready is null || !ready.StartsWith("ready", StringComparison.Ordinal))
            throw new InvalidOperationException($"{Name}: {_what} did not start ({_hint})");
        Banner = ready.Length > 6 ? ready[6..] : "";
    }

    public void Send(string command)
    {
        if (_pending is not null) throw new InvalidOperationException($"{Name}: '{command}' sent before the reply to '{_pending}' was read");
        _pending = command;
        try
        {
            _p.StandardInput.WriteLine(command);
            _p.StandardInput.Flush();
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"{Name} exited before '{command}'", e);
        }
    }

    /// <summary>The reply to the command sent last; throws with the worker's message when it failed.</summary>
    public string Receive()
    {
        var command = _pending ?? throw new InvalidOperationException($"{Name}: no command awaits a reply");
        _pending = null;
        var line = _p.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"{Name} exited during '{command}'" + (_p.WaitForExit(2000) ? $" (exit code {_p.ExitCode})" : ""));
        if (line.StartsWith("error", StringComparison.Ordinal))
            throw new InvalidOperationException($"{Name} failed on '{command}': {line[5..].Trim()}");
        return line;
    }

    /// <summary>Sends <paramref name="command"/> to every worker, then collects their replies in order.</summary>
    public static string[] RequestAll(IReadOnlyList<LineWorker> workers, string command)
    {
        foreach (var w in workers) w.Send(command);
        return workers.Select(w => w.Receive()).ToArray();
    }

    public void Dispose()
    {
        try
        {
            // A worker still busy with a command may be inside a collective whose peer failed, which gives up only at
            // its group's timeout: it is ended at once.
            if (_pending is not null) _p.Kill();
            else if (!_p.HasExited)
            {
                _p.StandardInput.WriteLine("quit");
                _p.StandardInput.Flush();
                if (!_p.WaitForExit(10000)) _p.Kill();
            }
            _p.WaitForExit(10000);
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
