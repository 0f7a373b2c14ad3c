using System.Diagnostics;

namespace Distill.Onnx.Runtime;

/// <summary>
/// Runs the Node.js scripts that drive ONNX Runtime (onnxruntime-node): <c>run.mjs</c> (inference on files) and
/// <c>bench.mjs</c> (latency). They live in a folder whose node_modules holds onnxruntime-node; by default the
/// repository's <c>tests/Distill.Onnx.Tests/js</c>, found by walking up from the application and working
/// directories, or the folder named by <c>DISTILL_ONNX_JS</c>.
/// </summary>
public sealed class NodeOnnxRuntime
{
    public const string DirectoryVariable = "DISTILL_ONNX_JS";
    private static readonly string RelativeScriptDirectory = Path.Combine("tests", "Distill.Onnx.Tests", "js");

    public string ScriptDirectory { get; }
    public string NodePath { get; }

    private NodeOnnxRuntime(string scriptDirectory, string nodePath)
    {
        ScriptDirectory = scriptDirectory;
        NodePath = nodePath;
    }

    /// <summary>Finds node on PATH and the script folder; the errors say what to install or set.</summary>
    public static NodeOnnxRuntime Locate(string? scriptDirectory = null)
    {
        string? env = Environment.GetEnvironmentVariable(DirectoryVariable);
        string dir = Path.GetFullPath(scriptDirectory ?? (string.IsNullOrEmpty(env) ? FindScriptDirectory() : env));
        if (!File.Exists(Path.Combine(dir, "run.mjs")))
            throw new FileNotFoundException($"no run.mjs in ONNX Runtime script folder '{dir}'", Path.Combine(dir, "run.mjs"));
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "onnxruntime-node")))
            throw new DirectoryNotFoundException(
                $"onnxruntime-node is not installed in '{dir}': run 'ONNXRUNTIME_NODE_INSTALL=skip npm ci' there");
        return new NodeOnnxRuntime(dir, FindNode());
    }

    /// <summary>
    /// Runs <paramref name="script"/> (a file in <see cref="ScriptDirectory"/>) with <paramref name="arguments"/>;
    /// returns its standard output, or throws with its standard error when it fails or exceeds the timeout.
    /// </summary>
    public string Run(string script, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(NodePath)
        {
            WorkingDirectory = ScriptDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(ScriptDirectory, script));
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start '{NodePath}'");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish within {(timeout ?? TimeSpan.FromMinutes(5)).TotalSeconds:F0} s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"node {script} failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
        return stdout.Result;
    }

    private static string FindScriptDirectory()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, RelativeScriptDirectory);
                if (File.Exists(Path.Combine(candidate, "run.mjs"))) return candidate;
            }
        }
        throw new DirectoryNotFoundException(
            $"cannot find {RelativeScriptDirectory} above '{AppContext.BaseDirectory}' or '{Environment.CurrentDirectory}'; set {DirectoryVariable} to the folder holding run.mjs");
    }

    private static string FindNode()
    {
        string exe = OperatingSystem.IsWindows() ? "node.exe" : "node";
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, exe);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("node (Node.js 18 or later) was not found on PATH; it runs ONNX Runtime for exported models", exe);
    }
}
