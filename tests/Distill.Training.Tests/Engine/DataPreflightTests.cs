using Distill.Pose.Datasets;
using Distill.Training.Checkpoints;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>Bad dataset images are found before training, all at once; skip_bad leaves them out; validation failing keeps the epoch.</summary>
[Collection(TrainerCollection.Name)]
public sealed class DataPreflightTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 3, images: 20);

    public void Dispose() => _run.Dispose();

    private string Data(params string[] parts) => Path.Combine([_run.Dir, "data", "coco", .. parts]);

    private DataSourceOptions Source(bool skipBad) => new()
    {
        Name = "coco",
        Format = DataFormat.Coco,
        AnnFile = Data("annotations", "person_keypoints_train.json"),
        ImgDir = Data("images", "train"),
        ValAnnFile = Data("annotations", "person_keypoints_val.json"),
        ValImgDir = Data("images", "val"),
        SkipBad = skipBad,
    };

    [Fact]
    public void EveryBadImageIsNamedAtOnceAndSkipBadLeavesThemOutOfTrainAndEval()
    {
        var clean = SourceData.Load(Source(skipBad: false), train: true, val: true);
        var trainImages = clean.Train!.Select(i => i.ImagePath).Distinct().Order(StringComparer.Ordinal).ToList();
        var valImages = clean.Val!.Select(i => i.ImagePath).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(trainImages.Count >= 3 && valImages.Count >= 2, $"{trainImages.Count} training and {valImages.Count} validation images");

        // Two training images go missing and a third becomes an empty file; one validation image goes missing.
        File.Delete(trainImages[0]);
        File.Delete(trainImages[2]);
        File.WriteAllBytes(trainImages[1], []);
        File.Delete(valImages[1]);

        var e = Assert.Throws<DatasetException>(() => SourceData.Load(Source(skipBad: false), train: true, val: true));
        Assert.Contains("3 image(s) cannot be used", e.Message);
        Assert.Contains($"{trainImages[0]}: not found", e.Message);
        Assert.Contains($"{trainImages[1]}: empty file", e.Message);
        Assert.Contains($"{trainImages[2]}: not found", e.Message);

        var skipped = SourceData.Load(Source(skipBad: true), train: true, val: true);
        int lost = clean.Train!.Count(i => trainImages[..3].Contains(i.ImagePath));
        Assert.Equal(clean.Train!.Count - lost, skipped.Train!.Count);
        Assert.Equal(lost, skipped.Train!.Report.Skipped(SkipReason.BadImage));
        Assert.Contains($"{lost} BadImage", skipped.Train!.Report.ToString());
        Assert.DoesNotContain(skipped.Train!, i => trainImages[..3].Contains(i.ImagePath));

        int valLost = clean.Val!.Count(i => i.ImagePath == valImages[1]);
        Assert.Equal(clean.Val!.Count - valLost, skipped.Val!.Count);
        Assert.Equal(valLost, skipped.Val!.Report.Skipped(SkipReason.BadImage));
        // The COCO metric no longer counts the skipped image's people as misses.
        var coco = Assert.IsType<CocoKeypointDataset>(skipped.Val);
        Assert.DoesNotContain(coco.GroundTruth, g => g.ImagePath == valImages[1]);
        Assert.DoesNotContain(coco.Images, i => i.Path == valImages[1]);
    }

    [Fact]
    public void ValidationImageMissingAfterAnEpochDoesNotLoseTheEpoch()
    {
        var config = _run.Config("valgone", "{max_epochs: 2, val_interval: 1, log_interval: 1}");
        var valImage = Directory.GetFiles(Data("images", "val")).Order(StringComparer.Ordinal).First();
        TrainingException error;
        using (var trainer = _run.Trainer(config))
        {
            // The image disappears during the first epoch, after the start-up check found it.
            trainer.AfterStep = (_, _, _) => File.Delete(valImage);
            error = Assert.Throws<TrainingException>(() => trainer.Run(CancellationToken.None));
        }
        var last = Path.Combine(_run.Dir, "valgone", RunCheckpoints.LastFile);
        Assert.Contains("validation after epoch 1 failed", error.Message);
        Assert.Contains(valImage, error.Message);
        Assert.Contains($"saved in {last}", error.Message);
        using var ckpt = CheckpointStore.Load(last);
        Assert.Equal(1, ckpt.State.Epoch);
        Assert.Equal(0, ckpt.State.BatchInEpoch);
        Assert.True(ckpt.State.Iteration > 0);
    }
}
