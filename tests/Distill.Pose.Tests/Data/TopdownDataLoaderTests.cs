using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.Pose.Data;
using Distill.Pose.Tests.Transforms;
using Distill.Pose.Transforms;
using Distill.TestSupport;
using Distill.Torch;

namespace Distill.Pose.Tests.Data;

public class TopdownDataLoaderTests
{
    private static readonly SimCCLabel Codec = new((192, 256), (4.9, 5.66), normalize: false);

    private static TopdownPipeline DotPipeline(params (int, int)[] teachers) => new(new TopdownPipelineOptions
    {
        InputSize = (192, 256),
        Codec = Codec,
        FlipIndices = DotScene.FlipIndices,
        UpperBodyIds = [0, 1, 2, 3, 4],
        LowerBodyIds = [5, 6],
        TeacherInputSizes = teachers,
    });

    private static TopdownSample[] DotSamples(int n)
    {
        var image = DotScene.Render();
        return Enumerable.Range(0, n).Select(i => DotScene.Sample(image) with
        {
            Id = $"dots-{i}",
            // Different boxes so that samples differ even with identical draws.
            Bbox = (170 + 3 * i, 50 + 2 * i, 160, 280),
        }).ToArray();
    }

    [Fact]
    public void BatchesHaveTheDocumentedShapes()
    {
        using var loader = new TopdownDataLoader(DotSamples(5), DotPipeline((256, 256)), TopdownAugmentation.RtmposeStage1,
            new TopdownLoaderOptions { Loader = new DataLoaderOptions { BatchSize = 2, Workers = 2 } });
        var batches = loader.Epoch(0, [4, 2, 0, 1, 3]).ToList();
        try
        {
            Assert.Equal(3, batches.Count);
            var b = batches[0].Value;
            Assert.Equal([2L, 3, 256, 192], b.Input.Shape);
            Assert.Equal([2L, 7, 384], b[TargetNames.KeypointXLabels].Shape);
            Assert.Equal([2L, 7, 512], b[TargetNames.KeypointYLabels].Shape);
            Assert.Equal([2L, 7], b.KeypointWeights.Shape);
            Assert.Equal([2L, 7, 2], b[TopdownBatch.KeypointsName].Shape);
            Assert.Equal([2L, 7], b[TopdownBatch.VisibilityName].Shape);
            Assert.Equal(DType.Float32, b.Input.DType);
            var teacher = Assert.Single(b.TeacherInputs);
            Assert.Equal([2L, 3, 256, 256], teacher.Shape);
            Assert.Equal([1L, 3, 256, 192], batches[2].Value.Input.Shape);
            // Metadata follows the order given.
            Assert.Equal(["dots-4", "dots-2", "dots-0", "dots-1", "dots-3"], batches.SelectMany(x => x.Value.Samples).Select(s => s.Id));
            Assert.All(batches.SelectMany(x => x.Value.Samples), s => Assert.Single(s.TeacherGeometries));
        }
        finally
        {
            foreach (var b in batches) b.Value.Dispose();
        }
    }

    [Fact]
    public void KeypointWeightsIncludeTheSamplesOwnWeights()
    {
        // Evaluation crop: every dot is inside and visible, so the codec gives weight 1 and the batch carries the
        // sample weights unchanged; an invisible keypoint gets 0 from the codec whatever its sample weight.
        var samples = DotSamples(1).Select(s => s with
        {
            KeypointWeights = [0, 0.5f, 1, 1.5f, 2, 2.5f, 3],
            Visibility = [1, 1, 1, 1, 1, 1, 0],
        }).ToArray();
        using var loader = new TopdownDataLoader(samples, DotPipeline(), TopdownAugmentation.None);
        var batch = loader.Epoch(0, [0]).Single().Value;
        using (batch)
            Assert.Equal([0f, 0.5f, 1, 1.5f, 2, 2.5f, 0], batch.KeypointWeights.ToArray<float>());
    }

    [Fact]
    public void OneAndThreeWorkersGiveByteIdenticalBatches()
    {
        var samples = DotSamples(6);
        int[] order = [3, 1, 4, 1, 5, 0, 2, 5, 3];
        var stages = new TwoStageSwitch(TopdownAugmentation.RtmposeStage1, TopdownAugmentation.RtmposeStage2, 10, 2);
        List<Dictionary<string, byte[]>> Run(int workers)
        {
            using var loader = new TopdownDataLoader(samples, DotPipeline((256, 256)), stages, new TopdownLoaderOptions
            {
                Seed = 1234,
                Loader = new DataLoaderOptions { BatchSize = 4, Workers = workers, PrefetchBatches = 2 },
            });
            var result = new List<Dictionary<string, byte[]>>();
            foreach (int epoch in new[] { 0, 9 })
            {
                foreach (var lb in loader.Epoch(epoch, order))
                {
                    using var b = lb.Value;
                    var bytes = b.Tensors.ToDictionary(kv => kv.Key, kv => Bytes(kv.Value));
                    bytes["teacher0"] = Bytes(b.TeacherInputs[0]);
                    result.Add(bytes);
                }
            }
            return result;
        }

        var one = Run(1);
        var three = Run(3);
        Assert.Equal(6, one.Count);
        for (int i = 0; i < one.Count; i++)
        {
            Assert.Equal(one[i].Keys.Order(), three[i].Keys.Order());
            foreach (var key in one[i].Keys) Assert.True(one[i][key].AsSpan().SequenceEqual(three[i][key]), $"batch {i} '{key}' differs");
        }
        // Epochs differ (different draws and a different stage), and a repeated index in one epoch gives the same crop.
        Assert.False(one[0]["input"].AsSpan().SequenceEqual(one[3]["input"]));
        int plane = 3 * 256 * 192 * 4;
        Assert.True(one[0]["input"].AsSpan(plane, plane).SequenceEqual(one[0]["input"].AsSpan(3 * plane, plane)));
    }

    [Fact]
    public void LoadOnTheCallingThreadMatchesTheWorkers()
    {
        var samples = DotSamples(3);
        using var loader = new TopdownDataLoader(samples, DotPipeline(), TopdownAugmentation.RtmposeStage1,
            new TopdownLoaderOptions { Seed = 77, Loader = new DataLoaderOptions { BatchSize = 3, Workers = 2 } });
        using var batch = loader.Epoch(4, [2, 0, 1]).Single().Value;
        var direct = loader.Load(0, 4);
        var batched = batch.Input.ToArray<float>().AsSpan(direct.Input.Length, direct.Input.Length);
        Assert.True(batched.SequenceEqual(direct.Input));
        Assert.Equal(direct.Geometry, batch.Samples[1].Geometry);
    }

    private static byte[] Bytes(Tensor t)
    {
        using var contiguous = t.Contiguous();
        var f = contiguous.ToArray<float>();
        var bytes = new byte[f.Length * 4];
        Buffer.BlockCopy(f, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    [Fact]
    public void MissingImageFileIsReportedWithIdAndPath()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"distill-no-such-{Guid.NewGuid():N}.jpg");
        var samples = CocoSamples().Take(3).Append(CocoSamples()[0] with { Id = "ann-missing", ImagePath = missing }).ToArray();
        using var loader = new TopdownDataLoader(samples, CocoPipeline(), TopdownAugmentation.RtmposeStage1,
            new TopdownLoaderOptions { Loader = new DataLoaderOptions { BatchSize = 2, Workers = 2 } });
        var e = Assert.Throws<DataLoaderException>(() =>
        {
            foreach (var b in loader.Epoch(0, [0, 1, 2, 3])) b.Value.Dispose();
        });
        Assert.Contains("ann-missing", e.Message);
        Assert.Contains(missing, e.Message);
        Assert.Equal(3, e.SampleIndex);
    }

    [Fact]
    public void RealCocoImagesLoadAndCacheGivesTheSameCrops()
    {
        var samples = CocoSamples();
        Assert.Equal(14, samples.Length);
        var order = Enumerable.Range(0, samples.Length).ToArray();
        float[] Inputs(int cache)
        {
            using var loader = new TopdownDataLoader(samples, CocoPipeline(), TopdownAugmentation.RtmposeStage1, new TopdownLoaderOptions
            {
                Seed = 5,
                ImageCacheCapacity = cache,
                Loader = new DataLoaderOptions { BatchSize = 8, Workers = 2 },
            });
            var all = new List<float>();
            foreach (var lb in loader.Epoch(3, order))
            {
                using var b = lb.Value;
                Assert.Equal(3, b.Input.Size(1));
                all.AddRange(b.Input.ToArray<float>());
                // A real photo: the crop is not a constant image.
                using var std = b.Input.Std();
                Assert.True(std.ItemDouble() > 0.1);
            }
            return [.. all];
        }
        Assert.Equal(Inputs(0), Inputs(2));
    }

    private static TopdownPipeline CocoPipeline() => new(new TopdownPipelineOptions
    {
        InputSize = (192, 256),
        Codec = Codec,
        FlipIndices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
        UpperBodyIds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        LowerBodyIds = [11, 12, 13, 14, 15, 16],
    });

    /// <summary>The person annotations of the shared COCO sample, as a reader would fill them.</summary>
    internal static TopdownSample[] CocoSamples()
    {
        string json = SharedData.Data("coco", "test_coco.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var files = doc.RootElement.GetProperty("images").EnumerateArray()
            .ToDictionary(i => i.GetProperty("id").GetInt64(), i => i.GetProperty("file_name").GetString()!);
        var samples = new List<TopdownSample>();
        foreach (var a in doc.RootElement.GetProperty("annotations").EnumerateArray())
        {
            var box = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var kp = a.GetProperty("keypoints").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            samples.Add(new TopdownSample
            {
                Id = a.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ImagePath = SharedData.Data("coco", files[a.GetProperty("image_id").GetInt64()]),
                Bbox = (box[0], box[1], box[2], box[3]),
                Keypoints = Enumerable.Range(0, 17).SelectMany(i => new[] { kp[3 * i], kp[3 * i + 1] }).ToArray(),
                Visibility = Enumerable.Range(0, 17).Select(i => Math.Min(1f, kp[3 * i + 2])).ToArray(),
            });
        }
        return [.. samples];
    }
}
