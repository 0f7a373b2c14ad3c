using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Distill.Cli.Commands;

internal static class ReportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Folder searched (recursively) for runs.", DefaultValueFactory = _ => "experiments" };
        var cmd = new Command("report", "Print a markdown table of every run below a folder (config, student, teachers, metrics, img/s, wall time).") { dir };
        cmd.SetAction(r =>
        {
            Console.Write(Build(r.GetValue(dir)!));
            return 0;
        });
        return cmd;
    }

    public static string Build(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"report: no such folder: {Path.GetFullPath(dir)}");
        var runs = Directory.GetFiles(dir, "summary.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => (File: f, Doc: JsonDocument.Parse(File.ReadAllText(f)))).ToList();
        var metricNames = runs.SelectMany(r => r.Doc.RootElement.GetProperty("metrics").EnumerateObject().Select(p => p.Name))
            .Where(n => !n.Contains("/AR", StringComparison.Ordinal) && !n.EndsWith("AP50", StringComparison.Ordinal) && !n.EndsWith("AP75", StringComparison.Ordinal)
                && !n.EndsWith("APm", StringComparison.Ordinal) && !n.EndsWith("APl", StringComparison.Ordinal))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("| run | config | student | teachers | ").Append(string.Join(" | ", metricNames)).AppendLine(" | img/s | wall |");
        sb.Append("|---|---|---|---|").Append(string.Concat(metricNames.Select(_ => "---|"))).AppendLine("---|---|");
        foreach (var (file, doc) in runs)
        {
            var root = doc.RootElement;
            string S(string p) => root.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            double D(string p) => root.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            var teachers = root.TryGetProperty("teachers", out var t) ? string.Join(", ", t.EnumerateArray().Select(x => x.GetString())) : "";
            var metrics = root.GetProperty("metrics");
            sb.Append(inv, $"| {S("name")} | {Path.GetFileName(S("config"))} | {S("student")} | {(teachers.Length == 0 ? "-" : teachers)} | ");
            foreach (var m in metricNames)
                sb.Append(metrics.TryGetProperty(m, out var v) ? v.GetDouble().ToString("F3", inv) : "-").Append(" | ");
            sb.Append(inv, $"{D("img_per_s"):F1} | {TimeSpan.FromSeconds(D("wall_s")):hh\\:mm\\:ss} |").AppendLine();
        }
        if (runs.Count == 0) sb.AppendLine($"(no runs with a summary.json below {Path.GetFullPath(dir)})");
        return sb.ToString();
    }
}
