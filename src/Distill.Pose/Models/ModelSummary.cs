using System.Globalization;
using System.Text;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models;

/// <summary>Parameters per module (to a chosen depth) and an estimated FLOP count at a given input size.</summary>
public sealed record ModelSummary(IReadOnlyList<(string Module, string Type, long Parameters)> Rows, long TotalParameters, long Flops,
    (int Width, int Height) InputSize)
{
    /// <summary>Counts parameters per module down to <paramref name="depth"/> dotted levels and runs one batch-1 forward
    /// pass on zeros (inference mode) to count multiply-accumulates.</summary>
    public static ModelSummary Of(TopdownPoseEstimator model, int depth = 2)
    {
        var rows = new List<(string, string, long)>();
        foreach (var (name, m) in model.NamedModules())
        {
            if (name.Length == 0) continue;
            int level = name.Count(c => c == '.') + 1;
            if (level > depth) continue;
            rows.Add((name, m.TypeName, m.NumParameters()));
        }
        long flops;
        bool wasTraining = model.Training;
        model.Eval();
        using (var scope = torch.NewDisposeScope())
        using (Autograd.InferenceMode())
        using (var counter = FlopCounter.Start())
        {
            var dev = model.Parameters().First().Device;
            var x = torch.Zeros([1, 3, model.InputSize.Height, model.InputSize.Width], device: dev);
            var outs = model.Forward(x);
            foreach (var t in outs.Values) t.Dispose();
            flops = counter.Macs;
        }
        model.Train(wasTraining);
        return new ModelSummary(rows, model.NumParameters(), flops, model.InputSize);
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        int w = Math.Max(8, Rows.Count == 0 ? 8 : Rows.Max(r => r.Module.Length));
        sb.AppendLine(inv, $"{"module".PadRight(w)}  {"type",-26} {"params",12}");
        foreach (var (m, t, p) in Rows) sb.AppendLine(inv, $"{m.PadRight(w)}  {t,-26} {p,12:N0}");
        sb.AppendLine(inv, $"{"total".PadRight(w)}  {"",-26} {TotalParameters,12:N0}");
        sb.Append(inv, $"FLOPs at {InputSize.Width}x{InputSize.Height}: {Flops / 1e9:F3} G (multiply-accumulates)");
        return sb.ToString();
    }
}
