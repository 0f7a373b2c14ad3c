using System.Diagnostics;
using System.Text;

namespace Distill.Cli.Tests.Support;

/// <summary>
/// Runs the built `distill` command as a separate process, as a user runs it: <c>dotnet distill.dll VERB ARGS</c>,
/// with DISTILL_PLAIN_LOG=1 and stdout and stderr captured line by line.
/// </summary>
public static class DistillCli
{
    /// <summary>How long any one command may take before the test fails (and the process is killed).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private static readonly Lazy<string> DllPath = new(Locate);

    /// <summary>
    /// distill.dll: DISTILL_CLI_DLL when set; else the copy the project reference puts next to this assembly (with its
    /// runtimeconfig); else src/Distill.Cli's own build output of the same configuration.
    /// </summary>
    public static string Dll => DllPath.Value;

    public static CliRun Start(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DISTILL_PLAIN_LOG"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return new CliRun(Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet"), args);
    }

    /// <summary>Runs a command to its end.</summary>
    public static CliResult Run(string workingDirectory, params string[] args)
    {
        using var run = Start(workingDirectory, args);
        return run.WaitForExit(Timeout);
    }

    private static string DotnetHost()
    {
        // The dotnet CLI hands its own path to the processes it starts (the test host among them).
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("DISTILL_CLI_DLL");
        if (!string.IsNullOrEmpty(env))
        {
            if (!File.Exists(env)) throw new FileNotFoundException($"DISTILL_CLI_DLL names {env}, which does not exist");
            return Path.GetFullPath(env);
        }
        var here = AppContext.BaseDirectory;
        var candidates = new List<string> { Path.Combine(here, "distill.dll") };
        // tests/Distill.Cli.Tests/bin/<Configuration>/<tfm>/ -> src/Distill.Cli/bin/<Configuration>/<tfm>/distill.dll
        var tfmDir = new DirectoryInfo(here);
        var configDir = tfmDir.Parent;
        var repo = tfmDir;
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "Distill.sln"))) repo = repo.Parent;
        if (repo is not null && configDir is not null)
            candidates.Add(Path.Combine(repo.FullName, "src", "Distill.Cli", "bin", configDir.Name, tfmDir.Name, "distill.dll"));
        foreach (var c in candidates)
            if (File.Exists(c) && File.Exists(Path.ChangeExtension(c, ".runtimeconfig.json"))) return c;
        throw new FileNotFoundException("distill.dll (with its runtimeconfig.json) not found; looked at " + string.Join(", ", candidates) +
            ". Build the solution, or set DISTILL_CLI_DLL.");
    }
}

/// <summary>A finished command: exit code and everything it printed.</summary>
public sealed record CliResult(string Command, int ExitCode, IReadOnlyList<string> StdOut, IReadOnlyList<string> StdErr)
{
    public string Output => string.Join('\n', StdOut.Concat(StdErr));

    /// <summary>For assertion messages.</summary>
    public override string ToString() =>
        $"distill {Command} -> exit {ExitCode}\n--- stdout ---\n{string.Join('\n', StdOut)}\n--- stderr ---\n{string.Join('\n', StdErr)}";
}

/// <summary>A running command whose output can be waited on and which can be signalled.</summary>
public sealed class CliRun : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _out = new(), _err = new();
    private readonly object _gate = new();
    private readonly TaskCompletionSource _outDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Command { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    internal CliRun(Process process, string[] args)
    {
        _process = process;
        Command = string.Join(' ', args);
        _process.OutputDataReceived += (_, e) => Append(_out, e.Data, _outDone);
        _process.ErrorDataReceived += (_, e) => Append(_err, e.Data, _errDone);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(List<string> lines, string? line, TaskCompletionSource done)
    {
        if (line is null)
        {
            done.TrySetResult();
            return;
        }
        lock (_gate)
        {
            lines.Add(line);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The output so far, stdout then stderr.</summary>
    public string Output
    {
        get
        {
            lock (_gate) return string.Join('\n', _out.Concat(_err));
        }
    }

    /// <summary>Waits for a line of stdout or stderr that satisfies <paramref name="match"/> and returns it.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            int seenOut = 0, seenErr = 0;
            while (true)
            {
                for (; seenOut < _out.Count; seenOut++)
                    if (match(_out[seenOut])) return _out[seenOut];
                for (; seenErr < _err.Count; seenErr++)
                    if (match(_err[seenErr])) return _err[seenErr];
                var left = deadline - DateTime.UtcNow;
                if (_process.HasExited && _outDone.Task.IsCompleted && _errDone.Task.IsCompleted)
                    throw new Xunit.Sdk.XunitException($"distill {Command} ended before printing {what}:\n{string.Join('\n', _out.Concat(_err))}");
                if (left <= TimeSpan.Zero)
                    throw new Xunit.Sdk.XunitException($"distill {Command} did not print {what} within {timeout}:\n{string.Join('\n', _out.Concat(_err))}");
                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(Math.Min(100, left.TotalMilliseconds)));
            }
        }
    }

    public void Signal(int signal)
    {
        if (Posix.Kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    public CliResult WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            KillQuietly();
            throw new Xunit.Sdk.XunitException($"distill {Command} did not finish within {timeout}:\n{Output}");
        }
        // The exit of the process does not mean its pipes are drained.
        Task.WaitAll([_outDone.Task, _errDone.Task], TimeSpan.FromSeconds(30));
        lock (_gate) return new CliResult(Command, _process.ExitCode, _out.ToList(), _err.ToList());
    }

    private void KillQuietly()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    public void Dispose()
    {
        // A test that failed midway leaves no process behind (SIGKILL ends a stopped process too).
        KillQuietly();
        _process.Dispose();
    }
}
