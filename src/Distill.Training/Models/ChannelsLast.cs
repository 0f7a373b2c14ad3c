using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config.Schema;
using Distill.Pose.Models.Options;

namespace Distill.Training.Models;

/// <summary>
/// Channels-last (NHWC) storage for the networks that train: the student of <see cref="ModelOptions.ChannelsLast"/>,
/// its EMA copy, the stage-2 self-teacher and the feature-KD adapters. Conversion rewrites each tensor's data in
/// place (<see cref="Module.ToChannelsLast"/>), so modules, optimizers and the EMA keep the very tensors they hold.
/// Checkpoints stay layout-free: the safetensors writer stores every tensor in row-major order and loading copies
/// into whatever layout the receiving tensor has.
/// </summary>
public static class ChannelsLast
{
    /// <summary>Whether a student built from <paramref name="options"/> trains channels-last: asked for and convolutional.</summary>
    public static bool AppliesTo(ModelOptions options, TopdownPoseEstimator model) => options.ChannelsLast && model.IsConvolutional;

    /// <summary>
    /// Whether a module's weights are stored channels-last: some 4-d parameter is NHWC-contiguous and not row-major
    /// (a weight with one input channel and a 1x1 kernel is both, so it proves nothing either way).
    /// </summary>
    public static bool IsStoredIn(Module module) =>
        module.Parameters().Any(p => p.Dim == 4 && p.IsContiguous(MemoryFormat.ChannelsLast) && !p.IsContiguous());

    /// <summary>
    /// A batch of images in the layout a model's convolutions want: a channels-last copy for a channels-last model, else
    /// a second handle on the same tensor. Either way the caller owns (and disposes) the result.
    /// </summary>
    public static Tensor Input(Tensor images, bool channelsLast) =>
        channelsLast ? images.Contiguous(MemoryFormat.ChannelsLast) : images.Alias();
}
