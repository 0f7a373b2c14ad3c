using System.Globalization;

namespace Distill.Cli.Bench;

/// <summary>
/// One line of the models table: medians in seconds of one measurement. <see cref="DistillOnly"/> lines are timed
/// on Distill alone and set against PyTorch's plain eval + no_grad forward at the same batch.
/// </summary>
internal sealed record BenchRow(string Model, string Measurement, int Batch, double Distill, double PyTorch, bool DistillOnly,
    int Reps, int Runs)
{
    public const string Header =
        "| model | measurement | Distill ms | PyTorch ms | ratio | reps x runs |\n|---|---|---|---|---|---|";

    /// <summary>Why the Distill side could not run this measurement (the line then has no times).</summary>
    public string? Failure { get; init; }

    public override string ToString()
    {
        if (Failure is not null)
            return $"| {Model} | {Measurement} | fails: {Failure.Replace("|", "/")} | - | - | - |";
        var inv = CultureInfo.InvariantCulture;
        string Cell(double s) => Batch > 1
            ? string.Format(inv, "{0:F1} ({1:F1} img/s)", s * 1e3, Batch / s)
            : string.Format(inv, "{0:F2}", s * 1e3);
        var what = DistillOnly ? $"{Measurement} (Distill only)" : Measurement;
        var py = DistillOnly ? $"({Cell(PyTorch)})" : Cell(PyTorch);
        return string.Format(inv, "| {0} | {1} | {2} | {3} | {4:F2}x | {5} x {6} |", Model, what, Cell(Distill), py,
            PyTorch / Distill, Reps, Runs);
    }
}
