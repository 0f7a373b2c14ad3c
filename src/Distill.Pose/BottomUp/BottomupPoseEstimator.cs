using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.BottomUp;

/// <summary>
/// A bottom-up pose model (OpenPifPaf's CIF/CAF): a backbone over the whole image and the two composite field heads.
/// Inputs are normalised (N, 3, H, W) images of any size (s k + 1 pixels keep the cells on whole pixels); outputs are
/// "cif" and "caf", raw in training and activated in eval. <see cref="Predict"/> decodes every person in input
/// pixels, without boxes. Names: backbone.*, head.cif.conv.*, head.caf.conv.*.
/// </summary>
public sealed class BottomupPoseEstimator : Module<Tensor, Dictionary<string, Tensor>>
{
    public Backbone Backbone { get; }
    public CifCafHead Head { get; }
    public CifCafMeta Meta => Head.Meta;

    /// <summary>Input pixels per field cell.</summary>
    public int Stride => Head.Stride;

    /// <summary>The input size exports and benchmarks use ([width, height]; training crops to its own square edge).</summary>
    public (int Width, int Height) InputSize { get; init; } = (385, 385);

    /// <summary>RGB normalisation applied before the network (not part of it, nor of exported graphs).</summary>
    public double[] Mean { get; init; } = [123.675, 116.28, 103.53];
    public double[] Std { get; init; } = [58.395, 57.12, 57.375];

    /// <summary>Decoder thresholds for <see cref="Predict"/> (OpenPifPaf's COCO evaluation settings by default).</summary>
    public CifCafDecoderOptions DecoderOptions { get; init; } = new();

    public BottomupPoseEstimator(Backbone backbone, CifCafHead head)
    {
        Backbone = RegisterModule("backbone", backbone);
        Head = RegisterModule("head", head);
    }

    public long NumKeypoints => Head.NumKeypoints;

    public override Dictionary<string, Tensor> Forward(Tensor input)
    {
        var feats = Backbone.Forward(input);
        try
        {
            return Head.Forward(feats);
        }
        finally
        {
            foreach (var f in feats) f.Dispose();
        }
    }

    /// <summary>Forward keeping the backbone features (feature distillation needs them).</summary>
    public PoseOutputs ForwardWithFeatures(Tensor input)
    {
        var feats = Backbone.Forward(input);
        return new PoseOutputs(feats, Head.Forward(feats));
    }

    /// <summary>The six field loss terms against the batched targets "cif" and "caf".</summary>
    public Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets) =>
        Head.Loss(outputs, targets);

    /// <summary>
    /// Every person in each image of a batch of normalised inputs, in input pixels, best first. Runs the network in
    /// eval mode (activated fields) and restores the previous mode.
    /// </summary>
    public List<List<DecodedPose>> Predict(Tensor input, CifCafDecoderOptions? options = null)
    {
        bool training = Training;
        Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            var outputs = Forward(input);
            try
            {
                return new CifCafDecoder(Meta, options ?? DecoderOptions).Decode(outputs[CifCafHead.CifName], outputs[CifCafHead.CafName], Stride);
            }
            finally
            {
                foreach (var t in outputs.Values) t.Dispose();
            }
        }
        finally
        {
            if (training) Train();
        }
    }

    /// <summary>Folds every BatchNorm that follows a conv into that conv (inference only; frozen teachers and export).</summary>
    public void FoldBatchNorm()
    {
        foreach (var (_, m) in NamedModules().ToList())
            if (m is ConvModule cm) cm.FoldBatchNorm();
    }

    /// <summary>Whether the network is built from ConvModules (CSPNeXt), which channels-last and BN folding speed up.</summary>
    public bool IsConvolutional => NamedModules().Any(m => m.Module is ConvModule);
}
