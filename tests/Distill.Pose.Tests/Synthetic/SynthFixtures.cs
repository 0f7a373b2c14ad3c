using System.Text.Json;
using Distill.Pose.Synthetic;

namespace Distill.Pose.Tests.Synthetic;

/// <summary>A fresh directory under the system temp folder, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-synth-" + Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A small set (20 COCO images, 40 MPII images) shared by the layout and schema tests.</summary>
public sealed class SmallSetFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public string Root => _dir.Path;
    public SynthResult Result { get; }

    public SmallSetFixture()
    {
        Result = Synth.Generate(new SynthOptions { OutDir = Root, Seed = 11, CocoImages = 20, MpiiImages = 40, Threads = 2 });
    }

    public JsonElement Json(params string[] parts) =>
        JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine([Root, .. parts]))).RootElement;

    public void Dispose() => _dir.Dispose();
}

/// <summary>1000 COCO images: 900 train, 100 val, for the baseline test.</summary>
public sealed class LargeCocoFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public string Root => _dir.Path;

    public LargeCocoFixture()
    {
        Synth.Generate(new SynthOptions { OutDir = Root, Seed = 2024, CocoImages = 1000, Threads = 2 });
    }

    public JsonElement Json(params string[] parts) =>
        JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine([Root, .. parts]))).RootElement;

    public void Dispose() => _dir.Dispose();
}

internal static class JsonValues
{
    public static double[] Doubles(this JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static string[] PropertyNames(this JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();
}
