using System.Runtime.InteropServices;
using Distill.Torch;

namespace Distill.Onnx.Tests.Support;

public static class TestData
{
    public static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    /// <summary>A fresh temporary folder for one fixture's files.</summary>
    public static string TempDirectory(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"distill-onnx-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void DeleteDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Seeded standard-normal values (a private generator, so parallel tests do not disturb each other).</summary>
    public static float[] Randn(ulong seed, params long[] shape)
    {
        using var g = new Generator(seed);
        using var t = torch.Randn(shape, g);
        return t.ToArray<float>();
    }

    /// <summary>The first <paramref name="count"/> samples of a batch stored flat.</summary>
    public static float[] Take(float[] batch, long[] shape, int count)
    {
        long per = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return batch.AsSpan(0, checked((int)(per * count))).ToArray();
    }

    /// <summary>Runs the model in libtorch (inference mode) on a flat float32 batch; returns each output's values.</summary>
    public static Dictionary<string, float[]> Forward(Distill.Pose.Models.TopdownPoseEstimator model, float[] input, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var x = torch.FromArray(input, shape);
        var outputs = model.Forward(x);
        return outputs.ToDictionary(kv => kv.Key, kv => kv.Value.Contiguous().ToArray<float>());
    }
}
