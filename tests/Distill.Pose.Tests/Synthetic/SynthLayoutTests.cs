using System.Text.Json;
using Distill.Pose.Synthetic;
using Distill.TestSupport;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Synthetic;

public sealed class SynthLayoutTests(SmallSetFixture set) : IClassFixture<SmallSetFixture>
{
    [Fact]
    public void WritesTheDocumentedFilesAndNoOthers()
    {
        var files = Directory.EnumerateFiles(set.Root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(set.Root, f).Replace('\\', '/')).ToList();
        // 20 COCO images split 18/2, 40 MPII images in one folder, four annotation files.
        Assert.Equal(18, files.Count(f => f.StartsWith("coco/images/train/") && f.EndsWith(".jpg")));
        Assert.Equal(2, files.Count(f => f.StartsWith("coco/images/val/") && f.EndsWith(".jpg")));
        Assert.Equal(40, files.Count(f => f.StartsWith("mpii/images/") && f.EndsWith(".jpg")));
        var json = files.Where(f => f.EndsWith(".json")).Order().ToArray();
        Assert.Equal(
            ["coco/annotations/person_keypoints_train.json", "coco/annotations/person_keypoints_val.json",
             "mpii/annotations/mpii_train.json", "mpii/annotations/mpii_val.json"], json);
        Assert.Equal(18 + 2 + 40 + 4, files.Count);

        Assert.Equal(18, set.Result.CocoTrainImages);
        Assert.Equal(2, set.Result.CocoValImages);
        Assert.Equal(36, set.Result.MpiiTrainImages);
        Assert.Equal(4, set.Result.MpiiValImages);
    }

    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(2, 1, 1)]
    [InlineData(5, 4, 1)] // a tenth of 5 is 0.5, rounded up to one val image
    [InlineData(20, 18, 2)]
    [InlineData(300, 270, 30)]
    [InlineData(1000, 900, 100)]
    public void SplitsNinetyTen(int images, int train, int val) => Assert.Equal((train, val), Synth.Split(images));

    [Theory]
    [InlineData("train", 18)]
    [InlineData("val", 2)]
    public void CocoImagesMatchTheirEntries(string split, int count)
    {
        var root = set.Json("coco", "annotations", $"person_keypoints_{split}.json");
        var images = root.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(count, images.Count);
        foreach (var im in images)
        {
            Assert.Equal(["id", "file_name", "width", "height"], im.PropertyNames());
            var img = Image.Read(Path.Combine(set.Root, "coco", "images", split, im.GetProperty("file_name").GetString()!));
            Assert.Equal(im.GetProperty("width").GetInt32(), img.Width);
            Assert.Equal(im.GetProperty("height").GetInt32(), img.Height);
            Assert.InRange(img.Width, 192, 320);
            Assert.InRange(img.Height, 192, 320);
        }
    }

    [Fact]
    public void CocoCategoryMatchesTheRealCocoPersonCategory()
    {
        // The real COCO annotation sample is the independent truth for names and the 1-based skeleton.
        var real = JsonDocument.Parse(File.ReadAllBytes(SharedData.Data("coco", "test_coco.json"))).RootElement
            .GetProperty("categories")[0];
        foreach (var split in new[] { "train", "val" })
        {
            var cats = set.Json("coco", "annotations", $"person_keypoints_{split}.json").GetProperty("categories");
            Assert.Equal(1, cats.GetArrayLength());
            var cat = cats[0];
            Assert.Equal(1, cat.GetProperty("id").GetInt32());
            Assert.Equal("person", cat.GetProperty("name").GetString());
            Assert.Equal(Names(real.GetProperty("keypoints")), Names(cat.GetProperty("keypoints")));
            Assert.Equal(Links(real.GetProperty("skeleton")), Links(cat.GetProperty("skeleton")));
        }
    }

    private static string[] Names(JsonElement e) => e.EnumerateArray().Select(n => n.GetString()!).ToArray();

    private static (int, int)[] Links(JsonElement e) => e.EnumerateArray().Select(l => (l[0].GetInt32(), l[1].GetInt32())).ToArray();

    [Fact]
    public void CocoAnnotationsFollowTheSchema()
    {
        var annIds = new HashSet<long>();
        foreach (var split in new[] { "train", "val" })
        {
            var root = set.Json("coco", "annotations", $"person_keypoints_{split}.json");
            var images = root.GetProperty("images").EnumerateArray()
                .ToDictionary(i => i.GetProperty("id").GetInt64(), i => (W: i.GetProperty("width").GetInt32(), H: i.GetProperty("height").GetInt32()));
            var anns = root.GetProperty("annotations").EnumerateArray().ToList();
            Assert.NotEmpty(anns);
            var perImage = anns.GroupBy(a => a.GetProperty("image_id").GetInt64()).ToDictionary(g => g.Key, g => g.Count());
            // Every image shows one to three persons.
            Assert.All(images.Keys, id => Assert.InRange(perImage.GetValueOrDefault(id), 1, 3));
            foreach (var a in anns)
            {
                Assert.Equal(["id", "image_id", "category_id", "bbox", "area", "iscrowd", "keypoints", "num_keypoints"], a.PropertyNames());
                Assert.True(annIds.Add(a.GetProperty("id").GetInt64()), "annotation ids are unique over both splits");
                var (w, h) = images[a.GetProperty("image_id").GetInt64()];
                Assert.Equal(1, a.GetProperty("category_id").GetInt32());
                Assert.Equal(0, a.GetProperty("iscrowd").GetInt32());
                var box = a.GetProperty("bbox").Doubles();
                Assert.Equal(4, box.Length);
                Assert.True(box[0] >= 0 && box[1] >= 0 && box[2] > 0 && box[3] > 0 && box[0] + box[2] <= w && box[1] + box[3] <= h,
                    $"bbox [{string.Join(", ", box)}] inside {w}x{h}");
                double area = a.GetProperty("area").GetDouble();
                Assert.InRange(area, 1, box[2] * box[3]); // visible pixels fit in their own box

                var k = a.GetProperty("keypoints").Doubles();
                Assert.Equal(51, k.Length);
                int labelled = 0;
                for (int i = 0; i < 17; i++)
                {
                    double x = k[3 * i], y = k[3 * i + 1], v = k[3 * i + 2];
                    Assert.Contains(v, new[] { 0.0, 1.0, 2.0 });
                    if (v > 0)
                    {
                        labelled++;
                        Assert.True(x >= 0 && x < w && y >= 0 && y < h, $"keypoint {i} ({x}, {y}) v={v} outside the {w}x{h} image");
                    }
                    else
                    {
                        Assert.Equal((0.0, 0.0), (x, y));
                    }
                    // Two decimals at most.
                    Assert.Equal(Math.Round(x, 2), x);
                    Assert.Equal(Math.Round(y, 2), y);
                }
                Assert.Equal(labelled, a.GetProperty("num_keypoints").GetInt32());
            }
        }
    }

    [Fact]
    public void VisibleKeypointsSitInsideTheirPersonsBox()
    {
        // A visible (v = 2) joint shows pixels of its own person, so it lies within the box of those pixels
        // (allowing the half-pixel between a pixel centre and the box edge).
        foreach (var split in new[] { "train", "val" })
        {
            foreach (var a in set.Json("coco", "annotations", $"person_keypoints_{split}.json").GetProperty("annotations").EnumerateArray())
            {
                var b = a.GetProperty("bbox").Doubles();
                var k = a.GetProperty("keypoints").Doubles();
                for (int i = 0; i < 17; i++)
                {
                    if (k[3 * i + 2] != 2) continue;
                    Assert.InRange(k[3 * i], b[0] - 1.5, b[0] + b[2] + 1.5);
                    Assert.InRange(k[3 * i + 1], b[1] - 1.5, b[1] + b[3] + 1.5);
                }
            }
        }
    }

    [Fact]
    public void LabelsIncludeOccludedAndUnlabelledJoints()
    {
        // Occlusion is part of the data: across the set some joints are hidden (1), some unlabelled (0),
        // most visible (2).
        var counts = new int[3];
        foreach (var split in new[] { "train", "val" })
            foreach (var a in set.Json("coco", "annotations", $"person_keypoints_{split}.json").GetProperty("annotations").EnumerateArray())
            {
                var k = a.GetProperty("keypoints").Doubles();
                for (int i = 0; i < 17; i++) counts[(int)k[3 * i + 2]]++;
            }
        Assert.True(counts[2] > counts[1] && counts[1] > 0 && counts[0] > 0, $"v counts 0/1/2: {string.Join("/", counts)}");
    }
}
