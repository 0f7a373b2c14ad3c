using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>A backbone returns one feature map per selected output index (the last is what single-scale heads use).</summary>
public abstract class Backbone : Module<Tensor, Tensor[]>
{
    /// <summary>Channels of each returned feature map.</summary>
    public abstract long[] OutChannels { get; }

    /// <summary>Total stride of each returned feature map relative to the input.</summary>
    public abstract int[] OutStrides { get; }
}
