using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Heads;

/// <summary>
/// A pose head maps backbone features to named outputs (for example "simcc_x"/"simcc_y" or "heatmaps"), so the
/// trainer, distiller and exporter treat every head alike.
/// </summary>
public abstract class PoseHead : Module<Tensor[], Dictionary<string, Tensor>>
{
    public abstract long NumKeypoints { get; }

    /// <summary>The output names, in export order.</summary>
    public abstract string[] OutputNames { get; }
}
