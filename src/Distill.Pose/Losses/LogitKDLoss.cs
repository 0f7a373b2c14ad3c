using Distill.Config;
using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>How a logit-distillation loss reduces over bins, keypoints and batch.</summary>
public enum KDReduction
{
    /// <summary>DWPose: sum over bins, sum over K, mean over batch, x + y, divided by K.</summary>
    [ConfigName("dwpose")]
    DWPose,
    /// <summary>Sum over bins, K and axes, divided by the batch size (kl_div's batchmean over samples).</summary>
    [ConfigName("batchmean")]
    BatchMean,
    /// <summary>Mean over every (sample, keypoint, axis) of the per-distribution KL (bins summed).</summary>
    [ConfigName("mean")]
    Mean,
    /// <summary>Plain sum.</summary>
    [ConfigName("sum")]
    Sum,
}

/// <summary>
/// Logit distillation for SimCC heads: KL(teacher || student) per keypoint and axis, where the teacher side is
/// already a probability distribution over the student's bins (the distiller maps and renormalises it), and the
/// student side is log_softmax(logits * beta). An optional (N, K) mask zeroes keypoints without a usable teacher; an
/// optional (N) sample mask keeps only the samples the teacher speaks for (see <see cref="Forward"/>).
/// </summary>
public sealed class LogitKDLoss(double beta = 10.0, KDReduction reduction = KDReduction.DWPose)
{
    public double Beta { get; } = beta;
    public KDReduction Reduction { get; } = reduction;

    /// <summary>Softmax(logits * beta): how a teacher's logits become the target distribution.</summary>
    public Tensor TeacherProbabilities(Tensor logits) => Functional.Softmax(logits * Beta, -1);

    /// <param name="mask">(N, K): 1 where the teacher's distribution is used, 0 where it is not.</param>
    /// <param name="sampleMask">
    /// (N): 1 for the samples the teacher speaks for. The term is then the reduction over those samples alone: every
    /// division by the batch size N becomes one by their count M, so with the DWPose reduction it is
    /// sum over kept samples and K of (KL_x + KL_y) / (M K). With every sample kept this is the term without it; with
    /// none kept it is exactly 0 (the count is taken as at least 1), with a zero gradient.
    /// </param>
    public Tensor Forward(Tensor studentX, Tensor studentY, Tensor teacherProbX, Tensor teacherProbY, Tensor? mask = null,
        Tensor? sampleMask = null)
    {
        using var scope = torch.NewDisposeScope();
        long n = studentX.Size(0), k = studentX.Size(1);
        var perX = PerKeypoint(studentX, teacherProbX);
        var perY = PerKeypoint(studentY, teacherProbY);
        if (mask is not null)
        {
            perX = perX * mask;
            perY = perY * mask;
        }
        var both = perX + perY; // (N, K)
        if (sampleMask is not null)
        {
            if (sampleMask.Dim != 1 || sampleMask.Size(0) != n)
                throw new ArgumentException($"sample mask of shape [{string.Join(", ", sampleMask.Shape)}] for a batch of {n}", nameof(sampleMask));
            return Kept(both, sampleMask, k).MoveToOuterDisposeScope();
        }
        Tensor loss = Reduction switch
        {
            KDReduction.DWPose => both.Sum(1).Mean().Div_(k),
            KDReduction.BatchMean => both.Sum().Div_(n),
            KDReduction.Mean => both.Sum().Div_(2 * n * k),
            KDReduction.Sum => both.Sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(Reduction)),
        };
        return loss.MoveToOuterDisposeScope();
    }

    // The reductions above with the kept samples' count M in place of N. The kept values are summed in the same order
    // as there (DWPose: per sample over K first), so that with every sample kept the result is the same to the bit.
    private Tensor Kept(Tensor both, Tensor sampleMask, long k)
    {
        var m = sampleMask.Sum().ClampMin(1);
        if (Reduction == KDReduction.DWPose) return (both.Sum(1) * sampleMask).Sum().Div(m).Div_(k);
        var kept = both * sampleMask.Unsqueeze(1);
        return Reduction switch
        {
            KDReduction.BatchMean => kept.Sum().Div(m),
            KDReduction.Mean => kept.Sum().Div(m * (2 * k)),
            KDReduction.Sum => kept.Sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(Reduction)),
        };
    }

    // KL summed over bins for each (sample, keypoint): (N, K).
    private Tensor PerKeypoint(Tensor student, Tensor teacherProb)
    {
        var logS = Functional.LogSoftmax(student * Beta, -1);
        using var t = teacherProb.Detach();
        return Functional.KlDiv(logS, t, Distill.Torch.Reduction.None).Sum(-1);
    }
}
