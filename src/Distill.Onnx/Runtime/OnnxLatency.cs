using System.Diagnostics;
using Distill.Torch;

namespace Distill.Onnx.Runtime;

/// <summary>ONNX Runtime CPU latency of one model, in milliseconds per forward pass.</summary>
public sealed record LatencyResult(double MedianMs, double MeanMs, double MinMs, double MaxMs, int Runs, int Batch, int Threads);

/// <summary>Measures an exported model's latency in ONNX Runtime, in this process.</summary>
public static class OnnxLatency
{
    /// <summary>
    /// Median and spread over <paramref name="runs"/> timed passes after a short warm-up, with
    /// <paramref name="threads"/> intra-op threads and a (batch, C, H, W) input whose C, H and W are read from
    /// the model's declared input.
    /// </summary>
    public static LatencyResult Measure(string path, int batch = 1, int runs = 50, int threads = 2)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");
        using var session = OnnxSession.Load(path, new OnnxSessionOptions { IntraOpThreads = threads });
        var shape = InputShape(session, batch);
        using var scope = torch.NewDisposeScope();
        var input = torch.Rand(shape);
        for (int i = 0; i < Math.Min(3, runs); i++) Dispose(session.Run(input));
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Dispose(session.Run(input));
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        double median = runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        return new LatencyResult(median, ms.Average(), ms[0], ms[^1], runs, batch, threads);
    }

    private static void Dispose(Dictionary<string, Tensor> outputs)
    {
        foreach (var t in outputs.Values) t.Dispose();
    }

    private static long[] InputShape(OnnxSession session, int batch)
    {
        var declared = session.InputShape;
        if (declared.Length == 0) throw new InvalidDataException($"{session.Source}: the input has no declared shape");
        for (int i = 1; i < declared.Length; i++)
            if (declared[i] < 0) throw new InvalidDataException($"{session.Source}: input dimension {i} is not fixed");
        if (declared[0] > 0 && declared[0] != batch)
            throw new ArgumentException($"{session.Source} has a fixed batch of {declared[0]}; cannot measure batch {batch}");
        var shape = (long[])declared.Clone();
        shape[0] = batch;
        return shape;
    }
}
