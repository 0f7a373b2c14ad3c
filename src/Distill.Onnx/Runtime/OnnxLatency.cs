using System.Globalization;
using System.Text.Json;
using Distill.Onnx.Protos;

namespace Distill.Onnx.Runtime;

/// <summary>ONNX Runtime CPU latency of one model, in milliseconds per forward pass.</summary>
public sealed record LatencyResult(double MedianMs, double MeanMs, double MinMs, double MaxMs, int Runs, int Batch, int Threads);

/// <summary>Measures an exported model's latency with onnxruntime-node (bench.mjs).</summary>
public static class OnnxLatency
{
    /// <summary>
    /// Median and spread over <paramref name="runs"/> timed passes after a short warm-up, with
    /// <paramref name="threads"/> intra-op threads and a (batch, C, H, W) input whose C, H and W are read from
    /// the model's declared input.
    /// </summary>
    public static LatencyResult Measure(string path, int batch = 1, int runs = 50, int threads = 2, string? scriptDirectory = null)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");
        var shape = InputShape(path, batch);
        var node = NodeOnnxRuntime.Locate(scriptDirectory);
        string output = node.Run("bench.mjs",
        [
            Path.GetFullPath(path),
            string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))),
            runs.ToString(CultureInfo.InvariantCulture),
            threads.ToString(CultureInfo.InvariantCulture),
        ]);
        string line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new InvalidDataException($"bench.mjs printed nothing for '{path}'");
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        return new LatencyResult(r.GetProperty("median_ms").GetDouble(), r.GetProperty("mean_ms").GetDouble(),
            r.GetProperty("min_ms").GetDouble(), r.GetProperty("max_ms").GetDouble(), runs, batch, threads);
    }

    private static long[] InputShape(string path, int batch)
    {
        ModelProto model;
        using (var stream = File.OpenRead(path)) model = ModelProto.Parser.ParseFrom(stream);
        if (model.Graph is null || model.Graph.Input.Count == 0)
            throw new InvalidDataException($"'{path}' declares no graph input");
        var input = model.Graph.Input[0];
        var dims = input.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count == 0)
            throw new InvalidDataException($"'{path}': input '{input.Name}' has no declared shape");
        var shape = new long[dims.Count];
        shape[0] = batch;
        for (int i = 1; i < dims.Count; i++)
        {
            if (dims[i].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                throw new InvalidDataException($"'{path}': input '{input.Name}' dimension {i} is not fixed");
            shape[i] = dims[i].DimValue;
        }
        if (dims[0].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[0].DimValue != batch)
            throw new ArgumentException($"'{path}' has a fixed batch of {dims[0].DimValue}; cannot measure batch {batch}");
        return shape;
    }
}
