using System.Text.Json;
using Distill.Pose.Datasets;
using Distill.Pose.Keypoints;
using Distill.Pose.Synthetic;

namespace Distill.Pose.Tests.Synthetic;

/// <summary>The AI Challenger and CrowdPose files of the synthesiser, read back with the aic14 and crowdpose14 sets.</summary>
public sealed class SynthMoreFormatsTests
{
    // Joint orders as the datasets' own files list them (AI Challenger 2017's keypoint list, CrowdPose's release).
    private static readonly string[] AicNames =
    [
        "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist", "right_hip",
        "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "head_top", "neck",
    ];

    private static readonly string[] CrowdPoseNames =
    [
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle", "top_head", "neck",
    ];

    [Fact]
    public void AicAndCrowdPoseFilesLoadWithTheirKeypointSets()
    {
        using var dir = new TempDir();
        var r = Synth.Generate(new SynthOptions { OutDir = dir.Path, Seed = 5, AicImages = 5, CrowdPoseImages = 5, Threads = 2 });
        Assert.Equal((4, 1, 4, 1), (r.AicTrainImages, r.AicValImages, r.CrowdPoseTrainImages, r.CrowdPoseValImages));

        using (var aicJson = JsonDocument.Parse(File.ReadAllText(r.AicTrainJson!)))
        {
            var names = aicJson.RootElement.GetProperty("categories")[0].GetProperty("keypoints").EnumerateArray().Select(e => e.GetString());
            Assert.Equal(AicNames, names);
        }
        var aic = CocoKeypointDataset.Load(r.AicTrainJson!, new CocoLoadOptions
        {
            KeypointSet = KeypointSet.FromName("aic14"), ImageRoot = Path.Combine(dir.Path, "aic", "images", "train"),
        });
        Assert.True(aic.Count >= 4);
        Assert.Empty(aic.ValidateImages());

        using var crowdJson = JsonDocument.Parse(File.ReadAllText(r.CrowdPoseValJson!));
        var root = crowdJson.RootElement;
        Assert.Equal(CrowdPoseNames, root.GetProperty("categories")[0].GetProperty("keypoints").EnumerateArray().Select(e => e.GetString()));
        foreach (var ann in root.GetProperty("annotations").EnumerateArray())
        {
            // CrowdPose counts visible joints only (v = 2), not occluded ones.
            var v = ann.GetProperty("keypoints").EnumerateArray().Where((_, i) => i % 3 == 2).Select(e => e.GetInt32()).ToList();
            Assert.Equal(v.Count(x => x == 2), ann.GetProperty("num_keypoints").GetInt32());
        }
        var crowd = CocoKeypointDataset.Load(r.CrowdPoseValJson!, new CocoLoadOptions
        {
            KeypointSet = KeypointSet.FromName("crowdpose14"), ImageRoot = Path.Combine(dir.Path, "crowdpose", "images"),
            Mode = DatasetMode.Evaluation,
        });
        Assert.All(crowd.Images, i => Assert.True(i.CrowdIndex is >= 0));
    }

    [Fact]
    public void CrowdIndexIsTheMeanShareOfOtherPeoplesJointsInEachBox()
    {
        var joints = CocoStyle.CrowdPose.Joints;
        var a = new PersonLabel { Box = (0, 0, 100, 100) };
        var b = new PersonLabel { Box = (0, 0, 400, 400) };
        for (int i = 0; i < joints.Length; i++)
        {
            int j = (int)joints[i];
            (a.X[j], a.Y[j], a.V[j]) = (50, 50, 2);
            // Half of B's joints fall inside A's box, half outside it; all inside B's own box.
            (b.X[j], b.Y[j], b.V[j]) = i % 2 == 0 ? (10.0, 10.0, 2) : (300.0, 300.0, 1);
        }
        var image = new RenderedImage(0, "x.jpg", 400, 400, [a, b]);
        // A: 7 of B's joints in its box / its own 14 = 0.5; B: all 14 of A's in its box / 14 = 1. Mean 0.75.
        Assert.Equal(0.75, CocoWriter.CrowdIndex(image, joints), 12);
        Assert.Equal(0, CocoWriter.CrowdIndex(new RenderedImage(0, "y.jpg", 400, 400, [a]), joints));
    }
}
