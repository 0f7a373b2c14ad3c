using Distill.Pose.Losses;
using Distill.Torch;

namespace Distill.Pose.Tests.Losses;

public class LossTests
{
    private static double[] Softmax(double[] v, double beta)
    {
        var e = v.Select(x => Math.Exp(beta * x)).ToArray();
        double s = e.Sum();
        return e.Select(x => x / s).ToArray();
    }

    // KL(p || q) per bin: p * (log p - log q)
    private static double[] KlBins(double[] p, double[] q) => p.Select((pi, i) => pi * (Math.Log(pi) - Math.Log(q[i]))).ToArray();

    [Fact]
    public void KLDiscretLossAveragesBinsSumsBatchAndAxesDividesByK()
    {
        // N = 2, K = 2, 3 bins. Hand formula: sum_{n,k,axis} w[n,k] * mean_bins KL(softmax(10 l) || softmax(10 p)) / K.
        double[][] px = [[0.1, 0.5, -0.2], [0.0, 0.3, 0.2], [1.0, 0.0, 0.0], [0.2, 0.2, 0.9]];
        double[][] lx = [[0.0, 1.0, 0.5], [1.0, 0.1, 0.0], [0.3, 0.3, 1.0], [0.0, 0.0, 1.0]];
        double[][] py = [[0.5, 0.1, 0.0], [0.2, 0.2, 0.2], [0.0, 0.7, 0.1], [0.4, 0.0, 0.3]];
        double[][] ly = [[1.0, 0.0, 0.0], [0.5, 1.0, 0.5], [0.0, 1.0, 0.0], [0.2, 0.9, 0.1]];
        double[] w = [1.0, 0.0, 0.5, 2.0];
        double expected = 0;
        for (int r = 0; r < 4; r++)
        {
            expected += w[r] * KlBins(Softmax(lx[r], 10), Softmax(px[r], 10)).Average();
            expected += w[r] * KlBins(Softmax(ly[r], 10), Softmax(py[r], 10)).Average();
        }
        expected /= 2;
        using var scope = torch.NewDisposeScope();
        Tensor T(double[][] rows) => torch.FromArray(rows.SelectMany(x => x).ToArray(), [2, 2, 3]);
        var loss = new KLDiscretLoss().Forward(T(px), T(py), T(lx), T(ly), torch.FromArray(w, [2, 2]));
        Assert.Equal(expected, loss.ItemDouble(), 9);
    }

    [Fact]
    public void LogitKDDWPoseReduction()
    {
        // N = 2, K = 1, 2 bins; teacher probabilities given directly. DWPose: sum bins, sum K, mean batch, x + y, / K.
        double[][] sx = [[0.2, -0.1], [0.0, 0.4]];
        double[][] tx = [[0.7, 0.3], [0.4, 0.6]];
        double[][] sy = [[0.3, 0.3], [0.1, 0.0]];
        double[][] ty = [[0.5, 0.5], [0.9, 0.1]];
        double expected = 0;
        for (int n = 0; n < 2; n++)
            expected += KlBins(tx[n], Softmax(sx[n], 10)).Sum() + KlBins(ty[n], Softmax(sy[n], 10)).Sum();
        expected /= 2; // mean over batch; K = 1
        using var scope = torch.NewDisposeScope();
        Tensor T(double[][] rows) => torch.FromArray(rows.SelectMany(x => x).ToArray(), [2, 1, 2]);
        var kd = new LogitKDLoss(10, KDReduction.DWPose);
        Assert.Equal(expected, kd.Forward(T(sx), T(sy), T(tx), T(ty)).ItemDouble(), 9);
        // A mask of zero for the second sample removes its terms (and the mean still divides by the batch).
        var mask = torch.FromArray(new[] { 1.0, 0.0 }, [2, 1]);
        double first = (KlBins(tx[0], Softmax(sx[0], 10)).Sum() + KlBins(ty[0], Softmax(sy[0], 10)).Sum()) / 2;
        Assert.Equal(first, kd.Forward(T(sx), T(sy), T(tx), T(ty), mask).ItemDouble(), 9);
    }

    [Fact]
    public void KeypointMseWeightsPerKeypoint()
    {
        using var scope = torch.NewDisposeScope();
        var pred = torch.FromArray(new[] { 1.0, 2.0, 3.0, 4.0 }, [1, 2, 1, 2]);
        var gt = torch.Zeros([1, 2, 1, 2], DType.Float64);
        var w = torch.FromArray(new[] { 1.0, 0.5 }, [1, 2]);
        // (1 + 4) * 1 + (9 + 16) * 0.5 = 17.5 over 4 elements
        Assert.Equal(17.5 / 4, new KeypointMSELoss().Forward(pred, gt, w).ItemDouble(), 12);
    }

    [Fact]
    public void FeatureKDIsSumOverBatchTimesWeight()
    {
        using var scope = torch.NewDisposeScope();
        using var loss = new FeatureKDLoss(2, 2, 0.5);
        var s = torch.Ones([2, 2, 1, 1], DType.Float32);
        var t = torch.Zeros([2, 2, 1, 1], DType.Float32);
        // 2 x 2 x 1 x 1 = 4 squared errors of 1, / batch 2, * 0.5 = 1
        Assert.Equal(1.0, loss.Forward(s, t).ItemDouble(), 6);
        var tBad = torch.Zeros([2, 2, 2, 1]);
        Assert.Throws<ArgumentException>(() => loss.Forward(s, tBad));
    }
}
