using Distill.Torch;

namespace Distill.Training.Distillation;

/// <summary>
/// Moves a teacher's per-axis distributions into the student's bins through the crop geometry. Student and teacher
/// crops share centre, rotation and flip, so a student pixel maps to a teacher pixel per axis: t = a * s + b. Each
/// student bin takes the teacher density at its teacher coordinate by linear interpolation; bins outside the teacher
/// view get nothing; the result is renormalised. The share of teacher mass that falls inside the student's view is
/// returned so that keypoints mostly outside it can be left out of the loss.
/// </summary>
public static class SimccTransfer
{
    /// <param name="teacherProb">(B, K, Tbins) probabilities over teacher bins.</param>
    /// <param name="a">(B) scale from student pixels to teacher pixels on this axis.</param>
    /// <param name="b">(B) offset (teacher pixels).</param>
    /// <param name="studentBins">Student bins on this axis.</param>
    /// <param name="studentRatio">Student bins per pixel (SimCC split ratio; 0.25 for a stride-4 heatmap).</param>
    /// <param name="teacherRatio">Teacher bins per pixel.</param>
    /// <returns>(B, K, studentBins) probabilities and (B, K) inside mass.</returns>
    public static (Tensor Prob, Tensor Inside) Map(Tensor teacherProb, Tensor a, Tensor b, long studentBins, double studentRatio, double teacherRatio)
    {
        using var scope = torch.NewDisposeScope();
        long bsz = teacherProb.Size(0), k = teacherProb.Size(1), tb = teacherProb.Size(2);
        var dev = teacherProb.Device;
        // Teacher bin position of every student bin centre: u = (a * (i / rs) + b) * rt  -> (B, 1, S)
        var i = torch.Arange(0, studentBins, 1, DType.Float32, dev).View(1, studentBins);
        var u = (a.View(bsz, 1) * (i / studentRatio) + b.View(bsz, 1)) * teacherRatio;
        var u0 = u.Floor();
        var frac = (u - u0).Unsqueeze(1);
        var idx0 = u0.Long();
        var idx1 = idx0 + 1;
        var valid0 = idx0.Ge(0).LogicalAnd(idx0.Lt(tb)).Unsqueeze(1).Float();
        var valid1 = idx1.Ge(0).LogicalAnd(idx1.Lt(tb)).Unsqueeze(1).Float();
        var g0 = teacherProb.Gather(2, idx0.Clamp(0, tb - 1).Long().Unsqueeze(1).Expand(bsz, k, studentBins));
        var g1 = teacherProb.Gather(2, idx1.Clamp(0, tb - 1).Long().Unsqueeze(1).Expand(bsz, k, studentBins));
        var dens = g0 * valid0 * (1 - frac) + g1 * valid1 * frac;
        var mass = dens.Sum(2, keepdim: true);
        var prob = dens / mass.ClampMin(1e-12);
        // Share of teacher mass whose position maps inside the student's view [0, S / rs).
        var v = torch.Arange(0, tb, 1, DType.Float32, dev).View(1, tb);
        var s = ((v / teacherRatio) - b.View(bsz, 1)) / a.View(bsz, 1) * studentRatio;
        var inView = s.Ge(-0.5).LogicalAnd(s.Le(studentBins - 0.5)).Float().Unsqueeze(1);
        var inside = (teacherProb * inView).Sum(2);
        return (prob.MoveToOuterDisposeScope(), inside.MoveToOuterDisposeScope());
    }
}
