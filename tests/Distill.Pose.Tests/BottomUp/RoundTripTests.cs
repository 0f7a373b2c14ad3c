using System.Diagnostics;
using System.Text.Json;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.Evaluation;
using Distill.Pose.Synthetic;
using Distill.Pose.Tests.Synthetic;
using Xunit.Abstractions;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>A synthetic multi-person set (standard scenes: one to three figures, occluders, cut-off figures):
/// 300 images, of which the last 30 are the val split.</summary>
public sealed class MultiPersonSetFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public MultiPersonSetFixture()
    {
        Synth.Generate(new SynthOptions { OutDir = _dir.Path, Seed = 14, CocoImages = 300, Threads = 2, Scene = SynthScene.Standard });
        ValJson = Path.Combine(_dir.Path, "coco", "annotations", "person_keypoints_val.json");
        GroundTruth = CocoKeypointGroundTruth.Load(ValJson);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(ValJson));
        foreach (var im in doc.RootElement.GetProperty("images").EnumerateArray())
            Sizes[im.GetProperty("id").GetInt64()] = (im.GetProperty("width").GetInt32(), im.GetProperty("height").GetInt32());
    }

    public string ValJson { get; }
    public CocoKeypointGroundTruth GroundTruth { get; }
    public Dictionary<long, (int Width, int Height)> Sizes { get; } = [];

    public List<FieldAnnotation> Annotations(long imageId) =>
        GroundTruth.Annotations.Where(a => a.ImageId == imageId)
            .Select(a => new FieldAnnotation(a.Keypoints.Select(v => (float)v).ToArray(), (a.Bbox[0], a.Bbox[1], a.Bbox[2], a.Bbox[3]), a.IsCrowd))
            .ToList();

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Encoding the ground truth into fields (confidence 1 at targets, exact vectors) and decoding them again must
/// find every person: the COCO evaluator scores the decoded poses against the same ground truth.
/// </summary>
public sealed class RoundTripTests(MultiPersonSetFixture set, ITestOutputHelper output) : IClassFixture<MultiPersonSetFixture>
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void EncodedGroundTruthDecodesToApAbove95(int stride)
    {
        var cifEncoder = new CifEncoder(Meta, stride);
        var cafEncoder = new CafEncoder(Meta, stride);
        var decoder = new CifCafDecoder(Meta);
        var results = new List<CocoKeypointResult>();
        var clock = new Stopwatch();
        var cpu = TimeSpan.Zero;
        var process = Process.GetCurrentProcess();
        int people = 0;
        foreach (long id in set.GroundTruth.ImageIds)
        {
            var (w, h) = set.Sizes[id];
            var anns = set.Annotations(id);
            people += anns.Count;
            var cif = TargetAsOutput.Cif(cifEncoder.Encode(anns, w, h));
            var caf = TargetAsOutput.Caf(cafEncoder.Encode(anns, w, h));
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            clock.Start();
            var poses = decoder.Decode(cif, caf, stride);
            clock.Stop();
            process.Refresh();
            cpu += process.TotalProcessorTime - cpu0;
            results.AddRange(poses.Select(p => p.ToCocoResult(id)));
        }
        var stats = new CocoKeypointEvaluator(Meta.Sigmas).Evaluate(set.GroundTruth, results);
        // Wall time depends on the machine's load; the process's CPU time less so (the decoder is single-threaded).
        double msPerImage = clock.Elapsed.TotalMilliseconds / set.GroundTruth.ImageIds.Count;
        double cpuPerImage = cpu.TotalMilliseconds / set.GroundTruth.ImageIds.Count;
        output.WriteLine($"stride {stride}: {set.GroundTruth.ImageIds.Count} images, {people} persons, {results.Count} poses, " +
                         $"AP {stats.AP:F4} AP50 {stats.AP50:F4} AR {stats.AR:F4}, decoder {msPerImage:F2} ms/image wall, {cpuPerImage:F2} ms/image CPU");
        Assert.True(set.GroundTruth.ImageIds.Count >= 30);
        Assert.True(stats.AP >= 0.95, $"round-trip AP {stats.AP:F4} at stride {stride}");
    }

    [Fact]
    public void AllZeroFieldsDecodeToNoPosesAndApZero()
    {
        var decoder = new CifCafDecoder(Meta);
        var results = new List<CocoKeypointResult>();
        foreach (long id in set.GroundTruth.ImageIds)
        {
            var (w, h) = set.Sizes[id];
            var (fh, fw) = AnnotationRescaler.FieldSize(w, h, 8);
            var poses = decoder.Decode(new FieldTensor(Meta.NumKeypoints, 5, fh, fw), new FieldTensor(Meta.NumLimbs, 8, fh, fw), 8);
            Assert.Empty(poses);
            results.AddRange(poses.Select(p => p.ToCocoResult(id)));
        }
        var stats = new CocoKeypointEvaluator(Meta.Sigmas).Evaluate(set.GroundTruth, results);
        Assert.Equal(0.0, stats.AP);
    }
}
