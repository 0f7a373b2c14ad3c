using Distill.Pose.Synthetic;

namespace Distill.Pose.Tests.Synthetic;

/// <summary>The group scene preset: one to three whole figures per image, mostly several, large in the frame.</summary>
public sealed class SynthGroupSceneTests
{
    [Fact]
    public void ImagesHoldOneToThreeWholeFiguresMostlySeveral()
    {
        using var dir = new TempDir();
        Synth.Generate(new SynthOptions { OutDir = dir.Path, Seed = 5, CocoImages = 60, Threads = 2, Scene = SynthScene.Group });
        var perImage = new List<int>();
        foreach (var split in new[] { "train", "val" })
        {
            var root = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "coco", "annotations", $"person_keypoints_{split}.json"))).RootElement;
            var images = root.GetProperty("images").EnumerateArray().ToDictionary(i => i.GetProperty("id").GetInt64(),
                i => (W: i.GetProperty("width").GetDouble(), H: i.GetProperty("height").GetDouble()));
            var anns = root.GetProperty("annotations").EnumerateArray().ToList();
            perImage.AddRange(images.Keys.Select(id => anns.Count(a => a.GetProperty("image_id").GetInt64() == id)));
            foreach (var a in anns)
            {
                var (w, h) = images[a.GetProperty("image_id").GetInt64()];
                var box = a.GetProperty("bbox").Doubles();
                // Three figures are drawn at 0.4-0.7 of the shorter side at least; the labelled box keeps most of that.
                Assert.True(Math.Max(box[2], box[3]) >= 0.25 * Math.Min(w, h), $"box {string.Join(",", box)} in a {w}x{h} image");
                Assert.True(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= w + 1 && box[1] + box[3] <= h + 1, "figure cut by the border");
                Assert.True(a.GetProperty("num_keypoints").GetInt32() >= 6, $"only {a.GetProperty("num_keypoints").GetInt32()} labelled joints");
            }
        }
        Assert.Equal(60, perImage.Count);
        Assert.All(perImage, n => Assert.InRange(n, 1, 3));
        // Counts are drawn 1:2:3 with weights .25/.45/.3: well over half the images show several people.
        Assert.True(perImage.Count(n => n >= 2) >= 36, $"{perImage.Count(n => n >= 2)} of 60 images with several people");
        Assert.Contains(3, perImage);
    }
}
