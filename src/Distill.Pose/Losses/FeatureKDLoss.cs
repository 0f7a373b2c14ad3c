using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Losses;

/// <summary>
/// Feature distillation (DWPose): a 1x1 conv with bias aligns student channels to the teacher's, then
/// sum((align(fs) - ft)^2) / batch * weight. The align conv is trained with the student (name: align).
/// </summary>
public sealed class FeatureKDLoss : Module
{
    private readonly Conv2d? _align;

    public double Weight { get; }

    public FeatureKDLoss(long studentChannels, long teacherChannels, double weight = 7e-5)
    {
        Weight = weight;
        if (studentChannels != teacherChannels)
            _align = RegisterModule("align", new Conv2d(studentChannels, teacherChannels, 1, bias: true));
    }

    /// <param name="sampleMask">
    /// (N): 1 for the samples the teacher speaks for; the sum then runs over those and is divided by their count
    /// (at least 1) instead of the batch size, so a batch without any of them gives exactly 0.
    /// </param>
    public Tensor Forward(Tensor student, Tensor teacher, Tensor? sampleMask = null)
    {
        if (student.Size(2) != teacher.Size(2) || student.Size(3) != teacher.Size(3))
            throw new ArgumentException(
                $"feature KD needs equal map sizes: student [{string.Join(", ", student.Shape)}], teacher [{string.Join(", ", teacher.Shape)}]");
        using var scope = torch.NewDisposeScope();
        var s = _align is null ? student : _align.Forward(student);
        using var t = teacher.Detach();
        if (sampleMask is not null)
        {
            var perSample = Functional.MseLoss(s, t, Distill.Torch.Reduction.None).Sum([1, 2, 3]) * sampleMask;
            return perSample.Sum().Div(sampleMask.Sum().ClampMin(1)).Mul_(Weight).MoveToOuterDisposeScope();
        }
        var loss = Functional.MseLoss(s, t, Distill.Torch.Reduction.Sum).Div_(student.Size(0)).Mul_(Weight);
        return loss.MoveToOuterDisposeScope();
    }
}
