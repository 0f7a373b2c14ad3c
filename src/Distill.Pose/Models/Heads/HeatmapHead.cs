using Distill.Pose.Codecs;
using Distill.Pose.Losses;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Heads;

/// <summary>
/// Heatmap head: a stack of [ConvTranspose2d (no bias) + BN + ReLU] upsamplers, optional 3x3 conv layers, then a 1x1
/// conv to K maps (the ViTPose "classic" decoder; with no deconvs and a bilinear x4 upsample + ReLU first it is the
/// "simple" decoder). Names: deconv_layers.N, conv_layers.N, final_layer. Output "heatmaps" (N, K, H', W').
/// </summary>
public sealed class HeatmapHead : PoseHead
{
    private readonly Sequential _deconv;
    private readonly Sequential _conv;
    private readonly Conv2d _final;
    private readonly bool _simpleUpsample;

    /// <summary>[ConvTranspose2d, BatchNorm2d, ReLU] per upsampling stage (may be empty).</summary>
    public Sequential DeconvLayers => _deconv;

    /// <summary>[Conv2d, BatchNorm2d, ReLU] per extra conv stage (may be empty).</summary>
    public Sequential ConvLayers => _conv;

    public Conv2d FinalLayer => _final;

    /// <summary>Whether the input is first upsampled x4 bilinearly and passed through ReLU (the "simple" decoder).</summary>
    public bool SimpleUpsample => _simpleUpsample;

    public override long NumKeypoints { get; }
    public override string[] OutputNames => ["heatmaps"];

    public HeatmapHead(long inChannels, long numKeypoints, long[]? deconvOutChannels = null, long[]? deconvKernelSizes = null,
        long[]? convOutChannels = null, bool simpleUpsample = false, long finalKernel = 1)
    {
        NumKeypoints = numKeypoints;
        _simpleUpsample = simpleUpsample;
        deconvOutChannels ??= simpleUpsample ? [] : [256, 256];
        deconvKernelSizes ??= deconvOutChannels.Select(_ => 4L).ToArray();
        if (deconvKernelSizes.Length != deconvOutChannels.Length)
            throw new ArgumentException("deconv_out_channels and deconv_kernel_sizes differ in length");
        _deconv = new Sequential();
        long c = inChannels;
        for (int i = 0; i < deconvOutChannels.Length; i++)
        {
            long k = deconvKernelSizes[i];
            var (pad, outPad) = k switch
            {
                4 => (1L, 0L),
                3 => (1L, 1L),
                2 => (0L, 0L),
                _ => throw new ArgumentException($"unsupported deconv kernel size {k} (use 2, 3 or 4)"),
            };
            _deconv.Append(new ConvTranspose2d(c, deconvOutChannels[i], k, 2, pad, outPad, bias: false))
                .Append(new BatchNorm2d(deconvOutChannels[i]))
                .Append(new ReLU());
            c = deconvOutChannels[i];
        }
        if (_deconv.Count > 0) RegisterModule("deconv_layers", _deconv);
        _conv = new Sequential();
        foreach (var co in convOutChannels ?? [])
        {
            _conv.Append(new Conv2d(c, co, 3, 1, 1)).Append(new BatchNorm2d(co)).Append(new ReLU());
            c = co;
        }
        if (_conv.Count > 0) RegisterModule("conv_layers", _conv);
        _final = RegisterModule("final_layer", new Conv2d(c, numKeypoints, finalKernel, 1, finalKernel / 2));
    }

    public override Dictionary<string, Tensor> Forward(Tensor[] feats)
    {
        using var scope = torch.NewDisposeScope();
        var x = feats[^1];
        if (_simpleUpsample) x = Functional.Interpolate(x, 4, 4, InterpolationMode.Bilinear).Relu();
        if (_deconv.Count > 0) x = _deconv.Forward(x);
        if (_conv.Count > 0) x = _conv.Forward(x);
        return new Dictionary<string, Tensor> { ["heatmaps"] = _final.Forward(x).MoveToOuterDisposeScope() };
    }

    public KeypointMSELoss LossFunction { get; set; } = new();

    public double LossWeight { get; set; } = 1.0;

    public override Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets)
    {
        var l = LossFunction.Forward(outputs["heatmaps"], Target(targets, TargetNames.Heatmaps), Target(targets, TargetNames.KeypointWeights));
        if (LossWeight != 1.0) l.Mul_(LossWeight);
        return new Dictionary<string, Tensor> { ["loss_kpt"] = l };
    }

    /// <summary>The deconv stack's output (parity checks).</summary>
    public Tensor DeconvOutput(Tensor feat) => _deconv.Forward(feat);
}
