namespace Distill.Pose.Drawing;

/// <summary>An image and the poses to draw on it (say ground truth and a prediction) for a contact sheet.</summary>
public sealed record PoseOverlay(Distill.Torch.Vision.Image Image, IReadOnlyList<PoseLayer> Poses);
