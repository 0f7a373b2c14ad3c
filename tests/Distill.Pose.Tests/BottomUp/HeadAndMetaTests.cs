using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models.Backbones;
using Distill.Torch;

namespace Distill.Pose.Tests.BottomUp;

public sealed class CifCafMetaTests
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    [Fact]
    public void CocoSkeletonIsOpenPifPafsInChannelOrder()
    {
        // OpenPifPaf's COCO skeleton, 1-based as its source writes it, minus one.
        int[,] oneBased = { { 16, 14 }, { 14, 12 }, { 17, 15 }, { 15, 13 }, { 12, 13 }, { 6, 12 }, { 7, 13 }, { 6, 7 }, { 6, 8 }, { 7, 9 },
                            { 8, 10 }, { 9, 11 }, { 2, 3 }, { 1, 2 }, { 1, 3 }, { 2, 4 }, { 3, 5 }, { 4, 6 }, { 5, 7 } };
        Assert.Equal(19, Meta.NumLimbs);
        for (int i = 0; i < 19; i++) Assert.Equal((oneBased[i, 0] - 1, oneBased[i, 1] - 1), Meta.Skeleton[i]);
        Assert.Equal([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089], Meta.Sigmas);
    }

    [Fact]
    public void FlipPermutationsAreOpenPifPafs()
    {
        Assert.Equal([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15], Meta.KeypointFlip);
        Assert.Equal([2, 3, 0, 1, 4, 6, 5, 7, 9, 8, 11, 10, 12, 14, 13, 16, 15, 18, 17], Meta.CafFlip);
        // Hips (4), shoulders (7) and eyes (12) map onto themselves with their ends swapped.
        Assert.Equal([4, 7, 12], Enumerable.Range(0, 19).Where(i => Meta.CafFlipSwap[i]));
    }

    [Fact]
    public void ScoreWeightsAreThreeThreeThreeThenOnes()
    {
        Assert.Equal(23.0, Meta.ScoreWeights.Sum());
        Assert.Equal([3.0, 3, 3, 1], Meta.ScoreWeights.Take(4));
    }

    [Fact]
    public void ASkeletonWithoutMirrorLinksIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new CifCafMeta(["a", "l", "r"], [.1, .1, .1], [(0, 1)], [0, 2, 1]));
        Assert.Contains("no mirror link (0, 2)", e.Message);
    }
}

public sealed class CompositeFieldHeadTests
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    [Fact]
    public void PixelShuffleMatchesPyTorchsLayout()
    {
        // (1, 4, 1, 2) with u = 2: channel c = 2i + j goes to row i, column offset j of each input column.
        var x = torch.FromArray(new float[] { 0, 1, 10, 11, 20, 21, 30, 31 }, [1, 4, 1, 2]);
        using var y = CompositeFieldHead.PixelShuffle(x, 2);
        Assert.Equal([1L, 1, 2, 4], y.Shape);
        Assert.Equal([0f, 10, 1, 11, 20, 30, 21, 31], y.ToArray<float>());
    }

    [Theory]
    [InlineData(1, 6, 9, 6, 9)]
    [InlineData(2, 6, 9, 11, 17)] // 2H - 1
    [InlineData(3, 6, 9, 16, 25)] // 3H - 2
    [InlineData(4, 6, 9, 21, 33)] // 4H - 3
    public void UpsampledOutputIsCroppedSoCellsStayOnStridePixels(int u, int h, int w, int outH, int outW)
    {
        using var head = CompositeFieldHead.Cif(Meta, 8, featureStride: 12, upsample: u);
        head.Eval();
        using var x = torch.Randn([2, 8, h, w]);
        using var y = head.Forward(x);
        Assert.Equal([2L, 17, 5, outH, outW], y.Shape);
        Assert.Equal(12 / u, head.Stride);
        Assert.Equal(outH, head.OutputSize(h));
    }

    [Fact]
    public void CropTakesTheTopLeftRowsFloorAndTheBottomRightCeil()
    {
        // u = 3 crops one row at the top and one at the bottom. With a 1x1 conv copying input channel 0 into every
        // output channel, output row r (after the crop) is input row (r + 1) / 3.
        using var head = new CompositeFieldHead("t", 1, 1, 0, 0, 3, 3);
        using (Autograd.NoGrad())
        {
            head.Conv.Weight.Fill_(1);
            head.Conv.Bias!.Zero_();
        }
        using var x = torch.FromArray(new float[] { 0, 1, 2 }, [1, 1, 3, 1]);
        using var y = head.Forward(x);
        Assert.Equal([1L, 1, 2, 7, 1], y.Shape);
        var rows = y.Select(2, 0).Flatten().ToArray<float>();
        Assert.Equal([0f, 0, 1, 1, 1, 2, 2], rows);
    }

    [Fact]
    public void EvalModeAppliesSigmoidIndexAndSoftplusAndTrainModeStaysRaw()
    {
        // Zero weights and chosen biases: spread 0.7, conf 0, dx 0.25, dy -0.5, scale 0.
        using var head = CompositeFieldHead.Cif(Meta, 3, featureStride: 8);
        using (Autograd.NoGrad())
        {
            head.Conv.Weight.Zero_();
            var bias = new float[17 * 5];
            for (int f = 0; f < 17; f++) (bias[5 * f], bias[5 * f + 1], bias[5 * f + 2], bias[5 * f + 3], bias[5 * f + 4]) = (0.7f, 0, 0.25f, -0.5f, 0);
            head.Conv.Bias!.CopyFrom<float>(bias);
        }
        using var x = torch.Randn([1, 3, 4, 6]);
        using var raw = head.Forward(x);
        Assert.Equal(0.25f, raw[0][3][2][2][5].ItemFloat(), 5);
        head.Eval();
        using var y = head.Forward(x);
        Assert.Equal(0.7f, y[0][3][0][2][5].ItemFloat(), 5);
        Assert.Equal(0.5f, y[0][3][1][2][5].ItemFloat(), 5);
        Assert.Equal(5.25f, y[0][3][2][2][5].ItemFloat(), 5); // column 5 + 0.25
        Assert.Equal(1.5f, y[0][3][3][2][5].ItemFloat(), 5); // row 2 - 0.5
        Assert.Equal((float)Math.Log(2), y[0][3][4][2][5].ItemFloat(), 5);
    }

    [Fact]
    public void CafHeadHasEightComponentsAndActivatesBothVectors()
    {
        using var head = CompositeFieldHead.Caf(Meta, 3, featureStride: 8);
        Assert.Equal(8, head.Components);
        Assert.Equal([19L * 8, 3, 1, 1], head.Conv.Weight.Shape);
        head.Eval();
        using (Autograd.NoGrad()) { head.Conv.Weight.Zero_(); head.Conv.Bias!.Zero_(); }
        using var y = head.Forward(torch.Zeros([1, 3, 2, 3]));
        Assert.Equal(2f, y[0][0][4][1][2].ItemFloat()); // vec2 x at column 2
        Assert.Equal(1f, y[0][0][5][1][2].ItemFloat()); // vec2 y at row 1
        Assert.Equal((float)Math.Log(2), y[0][0][7][1][2].ItemFloat(), 5);
    }

    [Fact]
    public void HeadsReadACspNextFeatureMapAndNameTheirConv()
    {
        using var backbone = new CSPNeXt(0.167, 0.125);
        using var cif = CompositeFieldHead.Cif(Meta, backbone.OutChannels[^1], backbone.OutStrides[^1], upsample: 2);
        using var caf = CompositeFieldHead.Caf(Meta, backbone.OutChannels[^1], backbone.OutStrides[^1], upsample: 2);
        using var image = torch.Randn([1, 3, 129, 97]);
        var feats = backbone.Forward(image);
        Assert.Equal(32, backbone.OutStrides[^1]);
        Assert.Equal(16, cif.Stride);
        using var c = cif.Forward(feats[^1]);
        using var a = caf.Forward(feats[^1]);
        // 129 x 97 at stride 32 -> 5 x 4 features -> 9 x 7 cells at stride 16 = (129 - 1) / 16 + 1 by (97 - 1) / 16 + 1.
        Assert.Equal([1L, 17, 5, 9, 7], c.Shape);
        Assert.Equal([1L, 19, 8, 9, 7], a.Shape);
        Assert.Equal(["conv.weight", "conv.bias"], cif.StateDict().Select(kv => kv.Key));
        foreach (var f in feats) f.Dispose();
    }
}
