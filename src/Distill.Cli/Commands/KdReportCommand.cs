using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill kd-report KD BASELINE`: every validation metric of every source of two runs side by side, with the
/// difference and which run is better (lower is better for end-point errors, higher for everything else).
/// </summary>
internal static class KdReportCommand
{
    public static Command Create()
    {
        var kd = new Argument<string>("kd") { Description = "The distilled run: its directory or its summary.json." };
        var baseline = new Argument<string>("baseline") { Description = "The run it is compared with: its directory or its summary.json." };
        var cmd = new Command("kd-report", "Compare a distilled run with its baseline: every metric of every source, the difference and its sign.")
        {
            kd, baseline,
        };
        cmd.SetAction(r =>
        {
            Console.Write(Build(ReadMetrics(r.GetValue(kd)!), ReadMetrics(r.GetValue(baseline)!)));
            return 0;
        });
        return cmd;
    }

    /// <summary>The final validation metrics a run recorded in its summary.json (a run directory or the file itself).</summary>
    public static IReadOnlyDictionary<string, double> ReadMetrics(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "summary.json") : path;
        if (!File.Exists(file))
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"kd-report: {Path.GetFullPath(path)} holds no summary.json (a run writes it when it ends)"
                : $"kd-report: no such run directory or summary file: {Path.GetFullPath(path)}", file);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"kd-report: {file}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("metrics", out var m) || m.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"kd-report: {file}: no \"metrics\" object");
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in m.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number)
                    throw new InvalidDataException($"kd-report: {file}: metrics.{p.Name} is {p.Value.ValueKind}, not a number");
                metrics[p.Name] = p.Value.GetDouble();
            }
            return metrics;
        }
    }

    /// <summary>End-point errors are distances: smaller is better. Every other pose metric is a score.</summary>
    public static bool LowerIsBetter(string metric) => metric.EndsWith("/EPE", StringComparison.Ordinal);

    /// <summary>
    /// One row per metric of either run (ordered by source, then name): both values to four decimals, KD minus
    /// baseline with its sign, and the better run; "-" where a run lacks the metric.
    /// </summary>
    public static string Build(IReadOnlyDictionary<string, double> kd, IReadOnlyDictionary<string, double> baseline)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| source | metric | KD | baseline | KD - baseline | better |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var name in kd.Keys.Union(baseline.Keys).Order(StringComparer.Ordinal))
        {
            int slash = name.IndexOf('/');
            string source = slash < 0 ? "-" : name[..slash], metric = slash < 0 ? name : name[(slash + 1)..];
            bool hasA = kd.TryGetValue(name, out double a), hasB = baseline.TryGetValue(name, out double b);
            string diff = "-", better = "n/a";
            if (hasA && hasB)
            {
                // Compared at the printed precision, so a row never reads "+0.0000 KD".
                double d = Math.Round(a, 4) - Math.Round(b, 4);
                d = Math.Round(d, 4);
                diff = d == 0 ? "0.0000" : d.ToString("+0.0000;-0.0000", inv);
                better = d == 0 ? "equal" : (d > 0) != LowerIsBetter(name) ? "KD" : "baseline";
            }
            sb.Append(inv, $"| {source} | {metric} | {(hasA ? a.ToString("F4", inv) : "-")} | {(hasB ? b.ToString("F4", inv) : "-")} | {diff} | {better} |")
                .AppendLine();
        }
        return sb.ToString();
    }
}
