using Distill.Torch;

namespace Distill.Pose.BottomUp.Losses;

/// <summary>
/// Distillation of one composite field head from a teacher's fields of the same layout and size (raw outputs,
/// (N, F, 2 + 2V + S, H, W) = [spread, conf, vectors, scales]); three terms, each a sum over cells divided by the batch
/// size like the ground-truth loss:
/// <list type="bullet">
/// <item><c>kd.{name}.c</c>: binary KL divergence of the student's confidence from the teacher's,
/// p_t ln(p_t / p_s) + (1 - p_t) ln((1 - p_t) / (1 - p_s)) with p = sigmoid(logit) (the binary cross-entropy against
/// the teacher's sigmoid less the teacher's own entropy, so it is 0 where they agree).</item>
/// <item><c>kd.{name}.vec</c>: L1 distance of each vector (cell offsets) to the teacher's, weighted by the teacher's
/// confidence (a teacher's vectors where it sees nothing carry no knowledge).</item>
/// <item><c>kd.{name}.scales</c>: L1 distance of the softplus scales, weighted the same way.</item>
/// </list>
/// The teacher's fields are detached; the spread channel is not distilled.
/// </summary>
public sealed class FieldDistillationLoss
{
    public FieldDistillationLoss(string name, int vectors, int scales)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Vectors = vectors;
        Scales = scales;
    }

    public static FieldDistillationLoss Cif() => new("cif", 1, 1);

    public static FieldDistillationLoss Caf() => new("caf", 2, 2);

    public string Name { get; }
    public int Vectors { get; }
    public int Scales { get; }

    public string[] TermNames => [$"kd.{Name}.c", $"kd.{Name}.vec", $"kd.{Name}.scales"];

    public Dictionary<string, Tensor> Forward(Tensor student, Tensor teacher)
    {
        int comps = 2 + 2 * Vectors + Scales;
        if (student.Dim != 5 || student.Size(2) != comps)
            throw new ArgumentException($"kd.{Name}: student fields must be (N, F, {comps}, H, W), got ({string.Join(", ", student.Shape)})");
        if (!student.Shape.SequenceEqual(teacher.Shape))
            throw new ArgumentException($"kd.{Name}: student fields ({string.Join(", ", student.Shape)}) and teacher fields " +
                $"({string.Join(", ", teacher.Shape)}) differ; both models need the same stride and input");
        double batch = student.Size(0);
        using var scope = torch.NewDisposeScope();
        var t = teacher.Detach().To(student.DType, student.Device);
        var xs = student.Select(2, 1);
        var xt = t.Select(2, 1);
        var pt = xt.Sigmoid();
        var cross = Functional.BinaryCrossEntropyWithLogits(xs, pt, reduction: Reduction.None);
        var entropy = Functional.BinaryCrossEntropyWithLogits(xt, pt, reduction: Reduction.None);
        var c = (cross - entropy).Sum().Div(batch);

        var vec = torch.Zeros([], student.DType, student.Device);
        for (int v = 0; v < Vectors; v++)
        {
            var d = (student.Narrow(2, 2 + 2 * v, 2) - t.Narrow(2, 2 + 2 * v, 2)).Abs().Sum(2);
            vec = vec + (d * pt).Sum();
        }
        vec = vec.Div(batch);

        var scales = torch.Zeros([], student.DType, student.Device);
        for (int s = 0; s < Scales; s++)
        {
            int i = 2 + 2 * Vectors + s;
            var d = (student.Select(2, i).Softplus() - t.Select(2, i).Softplus()).Abs();
            scales = scales + (d * pt).Sum();
        }
        scales = scales.Div(batch);

        return new Dictionary<string, Tensor>
        {
            [TermNames[0]] = c.MoveToOuterDisposeScope(),
            [TermNames[1]] = vec.MoveToOuterDisposeScope(),
            [TermNames[2]] = scales.MoveToOuterDisposeScope(),
        };
    }
}
