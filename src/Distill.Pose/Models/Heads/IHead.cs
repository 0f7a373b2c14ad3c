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

    /// <summary>
    /// Ground-truth loss terms by name (for example "loss_kpt") from this head's outputs and the batched codec targets
    /// (keypoint_x_labels, keypoint_y_labels, heatmaps, keypoint_labels and keypoint_weights, as the codec names them).
    /// </summary>
    public abstract Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets);

    protected static Tensor Target(IReadOnlyDictionary<string, Tensor> targets, string name) =>
        targets.TryGetValue(name, out var t) ? t : throw new ArgumentException($"the batch has no '{name}' target (has: {string.Join(", ", targets.Keys)})");
}
