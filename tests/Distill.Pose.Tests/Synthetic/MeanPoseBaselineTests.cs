namespace Distill.Pose.Tests.Synthetic;

/// <summary>
/// The data must need a model of the body: the average pose, placed in each validation box, should do poorly.
/// PCK@0.1 here: a keypoint is correct when it is within 0.1 x the box's longer side of the truth.
/// </summary>
public sealed class MeanPoseBaselineTests(LargeCocoFixture set) : IClassFixture<LargeCocoFixture>
{
    private sealed record Person(double[] Box, double[] X, double[] Y, double[] V);

    private List<Person> Load(string split) =>
        set.Json("coco", "annotations", $"person_keypoints_{split}.json").GetProperty("annotations").EnumerateArray()
            .Select(a =>
            {
                var k = a.GetProperty("keypoints").Doubles();
                return new Person(a.GetProperty("bbox").Doubles(),
                    Enumerable.Range(0, 17).Select(i => k[3 * i]).ToArray(),
                    Enumerable.Range(0, 17).Select(i => k[3 * i + 1]).ToArray(),
                    Enumerable.Range(0, 17).Select(i => k[3 * i + 2]).ToArray());
            })
            .Where(p => p.Box[2] > 0 && p.Box[3] > 0)
            .ToList();

    private static (double Cx, double Cy, double S) Frame(double[] box) =>
        (box[0] + box[2] / 2, box[1] + box[3] / 2, Math.Max(box[2], box[3]));

    private static double Pck(List<Person> truth, Func<Person, (double[] X, double[] Y)> predict, double threshold)
    {
        int correct = 0, total = 0;
        foreach (var p in truth)
        {
            var (px, py) = predict(p);
            double s = Frame(p.Box).S;
            for (int i = 0; i < 17; i++)
            {
                if (p.V[i] <= 0) continue;
                total++;
                double d = Math.Sqrt((px[i] - p.X[i]) * (px[i] - p.X[i]) + (py[i] - p.Y[i]) * (py[i] - p.Y[i]));
                if (d <= threshold * s) correct++;
            }
        }
        return (double)correct / total;
    }

    [Fact]
    public void MeanPosePredictorScoresBelowPointThreePck()
    {
        var train = Load("train");
        var val = Load("val");
        Assert.True(train.Count > 1000, $"{train.Count} train persons");
        Assert.True(val.Count > 100, $"{val.Count} val persons");

        // Mean of each keypoint in box-normalised coordinates ((k - box centre) / longer side), labelled ones only.
        var mx = new double[17];
        var my = new double[17];
        var n = new int[17];
        foreach (var p in train)
        {
            var (cx, cy, s) = Frame(p.Box);
            for (int i = 0; i < 17; i++)
            {
                if (p.V[i] <= 0) continue;
                mx[i] += (p.X[i] - cx) / s;
                my[i] += (p.Y[i] - cy) / s;
                n[i]++;
            }
        }
        for (int i = 0; i < 17; i++)
        {
            Assert.True(n[i] > 0);
            mx[i] /= n[i];
            my[i] /= n[i];
        }

        double meanPose = Pck(val, p =>
        {
            var (cx, cy, s) = Frame(p.Box);
            return (mx.Select(m => cx + m * s).ToArray(), my.Select(m => cy + m * s).ToArray());
        }, 0.1);
        // The same scorer gives full marks to the truth itself and none to a pose pushed a box away.
        double perfect = Pck(val, p => (p.X, p.Y), 0.1);
        double shifted = Pck(val, p => (p.X.Select(x => x + Frame(p.Box).S).ToArray(), p.Y), 0.1);

        Assert.Equal(1.0, perfect);
        Assert.Equal(0.0, shifted);
        Assert.True(meanPose < 0.3, $"mean-pose PCK@0.1 = {meanPose:F3}");
    }
}
