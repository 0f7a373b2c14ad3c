namespace Distill.Pose.Synthetic;

/// <summary>
/// Ground truth of one rendered figure, in 0-based pixel coordinates (pixel centres on integers). Visibility follows
/// COCO: 0 not labelled (outside the image, or a face point on the far side of the head), 1 labelled but hidden,
/// 2 visible.
/// </summary>
internal sealed class PersonLabel
{
    public double[] X { get; } = new double[BodyModel.JointCount];
    public double[] Y { get; } = new double[BodyModel.JointCount];
    public int[] V { get; } = new int[BodyModel.JointCount];

    /// <summary>Tight box around the figure's visible pixels: x, y, width, height.</summary>
    public (double X, double Y, double W, double H) Box { get; set; }

    /// <summary>Number of the figure's visible pixels.</summary>
    public int Area { get; set; }

    /// <summary>Box around the drawn head (hair included), head top and upper neck: x1, y1, x2, y2.</summary>
    public (double X1, double Y1, double X2, double Y2) HeadBox { get; set; }

    public int Labelled(IEnumerable<BodyJoint> joints) => joints.Count(j => V[(int)j] > 0);

    public int Visible(IEnumerable<BodyJoint> joints) => joints.Count(j => V[(int)j] == 2);
}
