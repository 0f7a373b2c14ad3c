using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Data;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.Data;
using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Pose.Synthetic;
using Distill.Pose.Tests.Synthetic;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>24 synthetic multi-person images (standard scenes) read as bottom-up samples from their COCO file.</summary>
public sealed class BottomupSamplesFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public BottomupSamplesFixture()
    {
        Synth.Generate(new SynthOptions { OutDir = _dir.Path, Seed = 5, CocoImages = 24, Threads = 2, Scene = SynthScene.Standard });
        TrainJson = Path.Combine(_dir.Path, "coco", "annotations", "person_keypoints_train.json");
        var images = CocoKeypointDataset.Load(TrainJson, new CocoLoadOptions
        {
            Mode = DatasetMode.Evaluation,
            ImageRoot = Path.Combine(_dir.Path, "coco", "images", "train"),
        });
        GroundTruth = CocoKeypointGroundTruth.Load(TrainJson);
        Samples = BottomupSample.FromCoco(images, GroundTruth, withPersonsOnly: false);
    }

    public string TrainJson { get; }
    public CocoKeypointGroundTruth GroundTruth { get; }
    public List<BottomupSample> Samples { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The bottom-up data pipeline: samples read from a COCO file, the whole-image augmentation checked by decoding the
/// encoded targets of augmented images and mapping the poses back to the original image (the COCO evaluator against
/// the file's ground truth), determinism per (seed, epoch, index), and the threaded loader.
/// </summary>
public sealed class BottomupDataTests(BottomupSamplesFixture set) : IClassFixture<BottomupSamplesFixture>
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    [Fact]
    public void SamplesHoldEveryAnnotationOfTheirImage()
    {
        Assert.Equal(set.GroundTruth.ImageIds.Count, set.Samples.Count);
        Assert.Equal(set.GroundTruth.Annotations.Count, set.Samples.Sum(s => s.Annotations.Count));
        var first = set.Samples[0];
        var fromFile = set.GroundTruth.Annotations.Where(a => a.ImageId == first.ImageId).ToList();
        Assert.Equal(fromFile.Select(a => a.Keypoints.Select(v => (float)v)), first.Annotations.Select(a => a.Keypoints));
        Assert.True(File.Exists(first.ImagePath));
    }

    /// <summary>
    /// Encodes each (augmented) image's targets, decodes them as a perfect network's output, maps the poses back to
    /// the image (inverting the image-to-input map and, after a mirror, the keypoint flip) and scores them.
    /// </summary>
    private double RoundTripAp(BottomupAugmentation augmentation, int stride, int epoch, out int flipped, out int rotated)
    {
        var pipeline = new BottomupPipeline(Meta, stride);
        var decoder = new CifCafDecoder(Meta);
        var results = new List<CocoKeypointResult>();
        flipped = rotated = 0;
        for (int i = 0; i < set.Samples.Count; i++)
        {
            var s = set.Samples[i];
            var r = pipeline.Process(s, Image.Read(s.ImagePath), augmentation, 3, epoch, i);
            var back = r.ImageToInput.Invert();
            bool mirror = r.ImageToInput.Determinant < 0;
            if (mirror) flipped++;
            if (Math.Abs(r.ImageToInput.M01) > 1e-9) rotated++;
            foreach (var pose in decoder.Decode(TargetAsOutput.Cif(r.Cif), TargetAsOutput.Caf(r.Caf), stride))
            {
                var k = new double[pose.Keypoints.Length];
                for (int j = 0; j < Meta.NumKeypoints; j++)
                {
                    int to = mirror ? Meta.KeypointFlip[j] : j;
                    var (x, y) = back.Apply(pose.Keypoints[3 * j], pose.Keypoints[3 * j + 1]);
                    (k[3 * to], k[3 * to + 1], k[3 * to + 2]) = (x, y, pose.Keypoints[3 * j + 2]);
                }
                results.Add(new CocoKeypointResult(s.ImageId, k, pose.Score));
            }
        }
        return new CocoKeypointEvaluator(Meta.Sigmas).Evaluate(set.GroundTruth, results).AP;
    }

    [Fact]
    public void EvaluationGeometryRoundTripsTheGroundTruth()
    {
        // Long side scaled to 257 (images are 192-320 px), so the fields come close to the image's own resolution.
        double ap = RoundTripAp(new BottomupAugmentation { Enabled = false, SquareEdge = 257 }, 4, 0, out _, out _);
        Assert.True(ap >= 0.9, $"AP {ap:F4}");
    }

    [Fact]
    public void AugmentedGeometryMapsBackOntoTheGroundTruth()
    {
        // Flip, rescale with stretch and rotation (30 degrees or quarter turns) on an edge that holds every rotated
        // image whole: mapped back, the encoded persons must still be the annotated ones. Rotation keeps half the CAF
        // geometry only approximately (cells are axis-aligned), so the bar is below the round trip's 0.95.
        var aug = new BottomupAugmentation
        {
            SquareEdge = 513,
            ScaleRange = (0.9, 1.1),
            StretchRange = (0.9, 1.1),
            OrientationInvariant = 0.3,
            RotateProb = 0.5,
        };
        double ap = RoundTripAp(aug, 4, 1, out int flipped, out int rotated);
        Assert.InRange(flipped, 3, set.Samples.Count - 3);
        Assert.True(rotated >= 3, $"{rotated} rotated images");
        Assert.True(ap >= 0.85, $"AP {ap:F4}");
    }

    [Fact]
    public void DrawsDependOnSeedEpochAndIndexOnly()
    {
        var pipeline = new BottomupPipeline(Meta, 8);
        var aug = new BottomupAugmentation { SquareEdge = 129 };
        var s = set.Samples[1];
        var image = Image.Read(s.ImagePath);
        var a = pipeline.Process(s, image, aug, 7, 2, 1);
        var b = pipeline.Process(s, image.Clone(), aug, 7, 2, 1);
        var c = pipeline.Process(s, image, aug, 7, 3, 1);
        Assert.Equal(a.Input, b.Input);
        Assert.Equal(a.Cif.Data, b.Cif.Data);
        Assert.Equal(a.ImageToInput, b.ImageToInput);
        Assert.NotEqual(a.ImageToInput, c.ImageToInput);
        Assert.Equal(3 * 129 * 129, a.Input.Length);
        Assert.Equal([17, 5, 17, 17], a.Cif.Shape);
        Assert.Equal([19, 9, 17, 17], a.Caf.Shape);
    }

    [Fact]
    public void PaddingOutsideTheImageHasNoTargetsAndNormalisesNearZero()
    {
        // A 200 x 100 image scaled to a 129 edge fills the top 65 rows; below that only background (conf 0, no vectors).
        var pipeline = new BottomupPipeline(Meta, 8);
        var sample = new BottomupSample
        {
            ImagePath = "memory",
            Width = 200,
            Height = 100,
            Annotations = [],
            Image = new Image(100, 200, 3, Enumerable.Repeat((byte)200, 100 * 200 * 3).ToArray()),
        };
        var r = pipeline.Process(sample, sample.Image!, new BottomupAugmentation { Enabled = false, SquareEdge = 129 }, 0, 0, 0);
        Assert.Equal(BottomupPipeline.EvalGeometry(200, 100, 129), r.ImageToInput);
        Assert.Equal(0.645, r.ImageToInput.M00, 6);
        Assert.Equal((200 - 123.675) / 58.395, r.Input[10 * 129 + 10], 4);
        // Padding is the grey PadValue, (116 - 123.675) / 58.395 in the red plane.
        Assert.Equal((116 - 123.675) / 58.395, r.Input[120 * 129 + 10], 4);
        // Without persons: confidence 0 and no vector target, inside the image and in the padding.
        Assert.True(float.IsNaN(r.Cif[0, 1, 15, 3]) && float.IsNaN(r.Cif[0, 1, 2, 3]));
        Assert.Equal(0f, r.Cif[0, 0, 15, 3]);
        Assert.Equal(0f, r.Cif[0, 0, 2, 3]);
    }

    [Fact]
    public void LoaderBatchesAreTheSameWithOneWorkerOrTwo()
    {
        var pipeline = new BottomupPipeline(Meta, 8);
        var aug = new BottomupAugmentation { SquareEdge = 97 };
        int[] order = [3, 0, 5, 2, 7];
        List<float[]> Run(int workers)
        {
            using var loader = new BottomupDataLoader(set.Samples, pipeline, _ => aug, 11, new DataLoaderOptions { BatchSize = 2, Workers = workers });
            var inputs = new List<float[]>();
            foreach (var loaded in loader.Epoch(1, order))
            {
                using var batch = loaded.Value;
                Assert.Equal([batch.Count, 17, 5, 13, 13], batch.Targets["cif"].Shape);
                Assert.Equal([batch.Count, 19, 9, 13, 13], batch.Targets["caf"].Shape);
                Assert.Equal(order.Skip(inputs.Count * 2).Take(2).Select(i => set.Samples[i].ImageId), batch.ImageIds);
                inputs.Add(batch.Input.ToArray<float>());
            }
            return inputs;
        }
        var threaded = Run(2);
        var single = Run(1);
        Assert.Equal(3, threaded.Count);
        Assert.Equal(single, threaded);
    }
}
