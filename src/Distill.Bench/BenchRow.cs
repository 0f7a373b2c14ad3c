using System.Globalization;

namespace Distill.Bench;

/// <summary>
/// One line of the models table: one measurement on both sides. <see cref="DistillOnly"/> lines are timed
/// on Distill alone and set against PyTorch's plain eval + no_grad forward at the same batch.
/// </summary>
internal sealed record BenchRow(string Model, string Measurement, int Batch, Sample Distill, Sample PyTorch, bool DistillOnly,
    int Reps, int Runs)
{
    public const string Header =
        "| model | measurement | Distill ms | PyTorch ms | ratio | ratio of best entries | spread | reps x runs |\n|---|---|---|---|---|---|---|---|";

    /// <summary>Why the Distill side could not run this measurement (the line then has no times).</summary>
    public string? Failure { get; init; }

    public override string ToString()
    {
        if (Failure is not null)
            return $"| {Model} | {Measurement} | fails: {Failure.Replace("|", "/")} | - | - | - | - | - |";
        var inv = CultureInfo.InvariantCulture;
        string Cell(double s) => Batch > 1
            ? string.Format(inv, "{0:F1} ({1:F1} img/s)", s * 1e3, Batch / s)
            : string.Format(inv, "{0:F2}", s * 1e3);
        var what = DistillOnly ? $"{Measurement} (Distill only)" : Measurement;
        string Pct(double f) => double.IsNaN(f) ? "-" : string.Format(inv, "{0:F0}%", f * 100);
        var py = DistillOnly ? $"({Cell(PyTorch.Median)})" : Cell(PyTorch.Median);
        return string.Format(inv, "| {0} | {1} | {2} | {3} | {4:F2}x | {5:F2}x | {6} / {7} | {8} x {9} |", Model, what,
            Cell(Distill.Median), py, PyTorch.Median / Distill.Median, PyTorch.Best / Distill.Best, Pct(Distill.Spread),
            Pct(PyTorch.Spread), Reps, Runs);
    }
}
