using System.Text.Json;
using Distill.Torch.Serialization;
using Distill.Training.Checkpoints;

namespace Distill.Cli.Tests.Support;

/// <summary>Reads checkpoints as files: their training state and the raw bytes of every tensor.</summary>
public static class CheckpointFiles
{
    public static TrainingState State(string path)
    {
        var meta = SafeTensors.ReadHeader(path).Metadata;
        Assert.True(meta.TryGetValue(CheckpointStore.StateKey, out var json), $"{path} has no {CheckpointStore.StateKey} metadata");
        return JsonSerializer.Deserialize<TrainingState>(json!)!;
    }

    /// <summary>
    /// Asserts that two checkpoints hold the same tensors (names in the same order, dtype, shape) with identical bytes.
    /// Metadata (wall time, config path) may differ.
    /// </summary>
    public static void AssertSameTensors(string expectedPath, string actualPath)
    {
        var expected = SafeTensors.ReadHeader(expectedPath);
        var actual = SafeTensors.ReadHeader(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        // The student, its EMA and the optimizer state all take part.
        foreach (var prefix in new[] { "student.", "ema.student.", "optimizer." })
            Assert.Contains(expected.Tensors, t => t.Name.StartsWith(prefix, StringComparison.Ordinal));
        using var e = File.OpenRead(expectedPath);
        using var a = File.OpenRead(actualPath);
        for (int i = 0; i < expected.Tensors.Count; i++)
        {
            var te = expected.Tensors[i];
            var ta = actual.Tensors[i];
            Assert.Equal(te.DType, ta.DType);
            Assert.Equal(te.Shape, ta.Shape);
            var be = Read(e, expected.DataStart + te.Begin, te.NBytes);
            var ba = Read(a, actual.DataStart + ta.Begin, ta.NBytes);
            if (!be.AsSpan().SequenceEqual(ba))
            {
                int at = be.AsSpan().CommonPrefixLength(ba);
                Assert.Fail($"tensor '{te.Name}' differs from byte {at} of {te.NBytes} between {expectedPath} and {actualPath}");
            }
        }
    }

    private static byte[] Read(FileStream s, long offset, long count)
    {
        var buffer = new byte[count];
        s.Position = offset;
        s.ReadExactly(buffer);
        return buffer;
    }
}
