using System.Text.Json;
using Distill.Pose.Keypoints;
using Distill.Pose.Tests.Datasets;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Keypoints;

public class KeypointSetTests
{
    // Orders as listed in pose-facts.md ("Keypoint sets").
    private static readonly string[] Coco =
    [
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
        "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ];

    private static readonly string[] Mpii =
    [
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax", "upper_neck",
        "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    ];

    [Fact]
    public void Coco17MatchesTheCocoOrderSigmasAndFlipIndices()
    {
        var set = KeypointSet.FromName("coco17");
        Assert.Equal("coco17", set.Name);
        Assert.Equal(Coco, set.Names);
        Assert.Equal([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15], set.FlipIndices);
        Assert.Equal([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089], set.Sigmas);
        Assert.Equal(Enumerable.Range(0, 11), set.UpperBody);
        Assert.Equal(Enumerable.Range(11, 6), set.LowerBody);
        Assert.Equal(17, set.JointWeights.Length);
    }

    [Fact]
    public void Coco17SkeletonIsTheSkeletonOfTheCocoCategory()
    {
        // test_coco.json's category lists the skeleton with 1-based indices; ours is by name, resolved to 0-based.
        using var doc = JsonDocument.Parse(File.ReadAllBytes(SharedData.Data("coco", "test_coco.json")));
        var category = doc.RootElement.GetProperty("categories")[0];
        var expected = category.GetProperty("skeleton").EnumerateArray()
            .Select(l => (l[0].GetInt32() - 1, l[1].GetInt32() - 1)).ToHashSet();
        var names = category.GetProperty("keypoints").EnumerateArray().Select(n => n.GetString()!).ToArray();

        var set = KeypointSet.FromName("coco17");
        Assert.Equal(names, set.Names);
        Assert.Equal(expected.Count, set.Skeleton.Length);
        Assert.All(set.Skeleton, link => Assert.True(expected.Contains(link) || expected.Contains((link.To, link.From)), $"unexpected link {link}"));
    }

    [Fact]
    public void Mpii16MatchesTheMpiiOrderAndFlipsLeftAndRight()
    {
        var set = KeypointSet.FromName("mpii16");
        Assert.Equal(Mpii, set.Names);
        // Ankles 0<->5, knees 1<->4, hips 2<->3, wrists 10<->15, elbows 11<->14, shoulders 12<->13; 6-9 on the centre line.
        Assert.Equal([5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10], set.FlipIndices);
        Assert.Equal(16, set.Sigmas.Length);
        Assert.Contains(set.IndexOf("pelvis"), set.LowerBody);
        Assert.Contains(set.IndexOf("thorax"), set.UpperBody);
    }

    [Fact]
    public void Unified21IsCocoThenTheFourMpiiOnlyJoints()
    {
        var set = KeypointSet.FromName("unified21");
        Assert.Equal([.. Coco, "pelvis", "thorax", "upper_neck", "head_top"], set.Names);
        Assert.Equal(21, set.Sigmas.Length);
        Assert.Equal(KeypointSet.FromName("coco17").Sigmas, set.Sigmas[..17]);
        Assert.All(set.Sigmas[17..], s => Assert.InRange(s, 0.02, 0.2));
        Assert.Equal([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 17, 18, 19, 20], set.FlipIndices);
        Assert.Equal(21, set.UpperBody.Length + set.LowerBody.Length);
    }

    [Fact]
    public void YamlFilesAreCopiedNextToTheAssemblies()
    {
        foreach (string name in new[] { "coco17", "mpii16", "unified21" })
        {
            string copied = Path.Combine(AppContext.BaseDirectory, "keypoints", name + ".yaml");
            Assert.True(File.Exists(copied), copied);
            Assert.Equal(File.ReadAllText(Path.Combine(SharedData.RepoRoot, "configs", "keypoints", name + ".yaml")), File.ReadAllText(copied));
        }
    }

    [Fact]
    public void ReturnedArraysAreCopies()
    {
        var set = KeypointSet.FromName("coco17");
        set.FlipIndices[1] = 99;
        set.Sigmas[0] = 99;
        Assert.Equal(2, set.FlipIndices[1]);
        Assert.Equal(0.026, set.Sigmas[0]);
    }

    private const string Valid = """
        name: toy3
        keypoints: [head, left_hand, right_hand]
        flip_pairs:
          - [left_hand, right_hand]
        skeleton:
          - { link: [head, left_hand], color: [1, 2, 3] }
        upper_body: [head, left_hand, right_hand]
        sigmas: [0.1, 0.2, 0.2]
        """;

    [Fact]
    public void FromNameSearchesTheConfiguredDirectoryFirst()
    {
        using var tmp = new TempFiles();
        tmp.Write("toy3.yaml", Valid);
        tmp.Write("wrongname.yaml", Valid);
        var before = KeypointSet.SearchDirectory;
        KeypointSet.SearchDirectory = tmp.Dir;
        try
        {
            var set = KeypointSet.FromName("toy3");
            Assert.Equal(["head", "left_hand", "right_hand"], set.Names);
            Assert.Equal([0, 2, 1], set.FlipIndices);
            Assert.Equal(new SkeletonLink(0, 1, new Rgb(1, 2, 3)), set.Links[0]);
            Assert.Equal([1f, 1f, 1f], set.JointWeights); // no joint_weights: all 1
            Assert.Empty(set.LowerBody);

            var mismatch = Assert.Throws<KeypointSetException>(() => KeypointSet.FromName("wrongname"));
            Assert.Contains("wrongname.yaml", mismatch.Message);
            Assert.Equal("name", mismatch.Key);

            var missing = Assert.Throws<KeypointSetException>(() => KeypointSet.FromName("nosuchset"));
            Assert.Contains(Path.Combine(tmp.Dir, "nosuchset.yaml"), missing.Message);
        }
        finally
        {
            KeypointSet.SearchDirectory = before;
        }
    }

    [Theory]
    [InlineData("keypoints: [head, left_hand, right_hand]", "keypoints: [head, left_hand, head]", "keypoints[2]", "already appears")]
    [InlineData("  - [left_hand, right_hand]", "  - [left_hand, right_foot]", "flip_pairs[0]", "'right_foot' is not a keypoint")]
    [InlineData("  - [left_hand, right_hand]", "  - [left_hand, right_hand]\n  - [right_hand, head]", "flip_pairs[1]", "already in flip_pairs[0]")]
    [InlineData("  - [left_hand, right_hand]", "  - [head, head]", "flip_pairs[0]", "its own flip partner")]
    [InlineData("  - [left_hand, right_hand]", "  - [left_hand, right_hand, head]", "flip_pairs[0]", "exactly two")]
    [InlineData("sigmas: [0.1, 0.2, 0.2]", "sigmas: [0.1, 0.2]", "sigmas", "2 sigmas for 3 keypoints")]
    [InlineData("sigmas: [0.1, 0.2, 0.2]", "sigmas: [0.1, 0.2, -0.2]", "sigmas[2]", "positive")]
    [InlineData("{ link: [head, left_hand], color: [1, 2, 3] }", "{ link: [head, neck], color: [1, 2, 3] }", "skeleton[0].link", "'neck'")]
    [InlineData("{ link: [head, left_hand], color: [1, 2, 3] }", "{ link: [head, left_hand], color: [1, 2, 300] }", "skeleton[0].color", "0-255")]
    [InlineData("upper_body: [head, left_hand, right_hand]", "upper_body: [head]\nlower_body: [head]", "lower_body", "also in upper_body")]
    [InlineData("name: toy3", "name: ''", "name", "missing")]
    public void InvalidSetsNameTheFileAndKey(string find, string replace, string key, string fragment)
    {
        using var tmp = new TempFiles();
        Assert.Contains(find, Valid);
        string path = tmp.Write("bad.yaml", Valid.Replace(find, replace));
        var e = Assert.Throws<KeypointSetException>(() => KeypointSet.Load(path));
        Assert.Equal(key, e.Key);
        Assert.StartsWith(path + ": " + key + ": ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void YamlTypeErrorsAndUnknownKeysGiveTheLine()
    {
        using var tmp = new TempFiles();
        string typo = tmp.Write("typo.yaml", Valid.Replace("sigmas:", "sigmaz:"));
        var e1 = Assert.Throws<KeypointSetException>(() => KeypointSet.Load(typo));
        Assert.Contains(typo, e1.Message);
        Assert.Contains("line 8", e1.Message); // "sigmaz" is on line 8 of the text above
        Assert.Contains("sigmaz", e1.Message);

        string badNumber = tmp.Write("num.yaml", Valid.Replace("[0.1, 0.2, 0.2]", "[0.1, wide, 0.2]"));
        var e2 = Assert.Throws<KeypointSetException>(() => KeypointSet.Load(badNumber));
        Assert.Contains("line 8", e2.Message);
    }

    [Fact]
    public void MissingFileIsReportedByName()
    {
        var e = Assert.Throws<KeypointSetException>(() => KeypointSet.Load("/nonexistent/dir/set.yaml"));
        Assert.Contains("/nonexistent/dir/set.yaml", e.Message);
    }
}
