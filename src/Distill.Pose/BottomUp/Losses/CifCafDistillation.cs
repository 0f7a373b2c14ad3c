using Distill.Pose.BottomUp.Heads;
using Distill.Torch;

namespace Distill.Pose.BottomUp.Losses;

/// <summary>
/// Distillation of a bottom-up student from a bottom-up teacher (any backbone; same keypoint set, stride and input):
/// the six terms of <see cref="FieldDistillationLoss"/> for CIF and CAF, scaled by the confidence, vector and scale
/// weights. <see cref="TeacherFields"/> gives the teacher's raw fields with its BatchNorm layers in inference mode.
/// </summary>
public sealed class CifCafDistillation
{
    private readonly FieldDistillationLoss _cif = FieldDistillationLoss.Cif();
    private readonly FieldDistillationLoss _caf = FieldDistillationLoss.Caf();

    public double ConfidenceWeight { get; init; } = 1.0;
    public double VectorWeight { get; init; } = 1.0;
    public double ScaleWeight { get; init; } = 1.0;

    public string[] TermNames => [.. _cif.TermNames, .. _caf.TermNames];

    /// <summary>The student's raw fields (training mode) against the teacher's (<see cref="TeacherFields"/>).</summary>
    public Dictionary<string, Tensor> Forward(IReadOnlyDictionary<string, Tensor> student, IReadOnlyDictionary<string, Tensor> teacher)
    {
        var terms = _cif.Forward(student[CifCafHead.CifName], teacher[CifCafHead.CifName]);
        foreach (var (k, v) in _caf.Forward(student[CifCafHead.CafName], teacher[CifCafHead.CafName])) terms[k] = v;
        var weighted = new Dictionary<string, Tensor>();
        foreach (var (k, v) in terms)
        {
            double w = k.EndsWith(".c", StringComparison.Ordinal) ? ConfidenceWeight : k.EndsWith(".vec", StringComparison.Ordinal) ? VectorWeight : ScaleWeight;
            if (w == 1.0)
            {
                weighted[k] = v;
                continue;
            }
            weighted[k] = v * w;
            v.Dispose();
        }
        return weighted;
    }

    /// <summary>
    /// The teacher's raw fields for <paramref name="input"/>, without gradients: the network in eval mode (BatchNorm
    /// statistics, no drop path) with the field heads left raw, as the student's are in training.
    /// </summary>
    public static Dictionary<string, Tensor> TeacherFields(BottomupPoseEstimator teacher, Tensor input)
    {
        bool training = teacher.Training;
        teacher.Eval();
        teacher.Head.Train();
        try
        {
            using var noGrad = Autograd.NoGrad();
            return teacher.Forward(input);
        }
        finally
        {
            teacher.Train(training);
        }
    }
}
