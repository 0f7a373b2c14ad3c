using System.Text.Json;
using Distill.TestSupport;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Synthetic;

public sealed class SynthMpiiTests(SmallSetFixture set) : IClassFixture<SmallSetFixture>
{
    // MPII-16 order: 0 r_ankle ... 8 upper_neck, 9 head_top ...
    private const int UpperNeck = 8, HeadTop = 9;

    private IEnumerable<(string Split, JsonElement Record)> Records() =>
        new[] { "train", "val" }.SelectMany(s => set.Json("mpii", "annotations", $"mpii_{s}.json").EnumerateArray().Select(r => (s, r)));

    [Fact]
    public void RecordsUseTheRealMpiiLayoutPlusHeadBoxes()
    {
        // The real mmpose MPII sample decides the keys and their order; the head box is the one addition.
        var real = JsonDocument.Parse(File.ReadAllBytes(SharedData.Data("mpii", "test_mpii.json"))).RootElement[0];
        var expected = real.PropertyNames().Append("headboxes").Order().ToArray();
        int records = 0;
        foreach (var (_, r) in Records())
        {
            records++;
            Assert.Equal(expected, r.PropertyNames().Order().ToArray());
            Assert.Equal(2, r.GetProperty("center").GetArrayLength());
            Assert.True(r.GetProperty("scale").GetDouble() > 0);
            Assert.Equal(16, r.GetProperty("joints").GetArrayLength());
            Assert.All(r.GetProperty("joints").EnumerateArray(), j => Assert.Equal(2, j.GetArrayLength()));
            Assert.Equal(16, r.GetProperty("joints_vis").GetArrayLength());
            Assert.Equal(4, r.GetProperty("headboxes").GetArrayLength());
        }
        Assert.Equal(set.Result.MpiiTrainRecords + set.Result.MpiiValRecords, records);
        // One record per person and one to three persons per image.
        Assert.InRange(records, 40, 120);
    }

    [Fact]
    public void LabelledJointsLieInsideTheirImage()
    {
        var sizes = new Dictionary<string, (int W, int H)>();
        foreach (var (_, r) in Records())
        {
            string name = r.GetProperty("image").GetString()!;
            if (!sizes.TryGetValue(name, out var size))
            {
                var img = Image.Read(Path.Combine(set.Root, "mpii", "images", name));
                sizes[name] = size = (img.Width, img.Height);
            }
            var joints = r.GetProperty("joints").EnumerateArray().Select(j => j.Doubles()).ToArray();
            var vis = r.GetProperty("joints_vis").Doubles();
            for (int i = 0; i < 16; i++)
            {
                Assert.Contains(vis[i], new[] { 0.0, 1.0 });
                if (vis[i] > 0)
                    Assert.True(joints[i][0] >= 0 && joints[i][0] < size.W && joints[i][1] >= 0 && joints[i][1] < size.H,
                        $"{name} joint {i} ({joints[i][0]}, {joints[i][1]}) outside {size.W}x{size.H}");
                else
                    Assert.Equal([-1.0, -1.0], joints[i]);
            }
        }
        // Some records share an image (several persons per picture).
        Assert.True(sizes.Count < Records().Count());
    }

    [Fact]
    public void MmposeBoxFromCenterAndScaleContainsTheLabelledJoints()
    {
        foreach (var (split, r) in Records())
        {
            // mmpose: side = scale * 200; centre y += 15 / 200 * side; centre -= 1 (1-based to 0-based).
            var c = r.GetProperty("center").Doubles();
            double side = r.GetProperty("scale").GetDouble() * 200;
            double cx = c[0] - 1, cy = c[1] + 15.0 / 200 * side - 1;
            var joints = r.GetProperty("joints").EnumerateArray().Select(j => j.Doubles()).ToArray();
            var vis = r.GetProperty("joints_vis").Doubles();
            int inside = 0;
            for (int i = 0; i < 16; i++)
            {
                if (vis[i] == 0) continue;
                Assert.True(Math.Abs(joints[i][0] - cx) <= side / 2 && Math.Abs(joints[i][1] - cy) <= side / 2,
                    $"{split} {r.GetProperty("image")} joint {i} ({joints[i][0]}, {joints[i][1]}) outside the box centred ({cx}, {cy}) side {side}");
                inside++;
            }
            // The box is about the person's size, not the whole image: the labelled joints span a good part of it.
            if (inside >= 8)
            {
                var xs = Enumerable.Range(0, 16).Where(i => vis[i] > 0).Select(i => joints[i][0]).ToArray();
                var ys = Enumerable.Range(0, 16).Where(i => vis[i] > 0).Select(i => joints[i][1]).ToArray();
                double span = Math.Max(xs.Max() - xs.Min(), ys.Max() - ys.Min());
                Assert.True(span >= 0.4 * side, $"joints span {span} px of a {side} px box");
            }
        }
    }

    [Fact]
    public void HeadBoxesContainHeadTopAndUpperNeck()
    {
        int checkedBoxes = 0;
        foreach (var (_, r) in Records())
        {
            var hb = r.GetProperty("headboxes").Doubles();
            Assert.True(hb[2] > hb[0] && hb[3] > hb[1]);
            var joints = r.GetProperty("joints").EnumerateArray().Select(j => j.Doubles()).ToArray();
            var vis = r.GetProperty("joints_vis").Doubles();
            foreach (int j in new[] { UpperNeck, HeadTop })
            {
                if (vis[j] == 0) continue;
                Assert.InRange(joints[j][0], hb[0], hb[2]);
                Assert.InRange(joints[j][1], hb[1], hb[3]);
                checkedBoxes++;
            }
            // A head box is head-sized: its diagonal is well below the person box side.
            double diag = Math.Sqrt((hb[2] - hb[0]) * (hb[2] - hb[0]) + (hb[3] - hb[1]) * (hb[3] - hb[1]));
            Assert.True(diag < 0.5 * r.GetProperty("scale").GetDouble() * 200, $"head box diagonal {diag}");
        }
        Assert.True(checkedBoxes > 40);
    }
}
