using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.BottomUp.Losses;
using Distill.Pose.Models.Backbones;
using Distill.Torch;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>Bottom-up distillation terms: zero for a student identical to its teacher, positive (with gradients)
/// otherwise, and each term at hand-computed values.</summary>
public sealed class FieldDistillationTests
{
    private static BottomupPoseEstimator Tiny(ulong seed)
    {
        torch.ManualSeed(seed);
        var backbone = new CSPNeXt(0.167, 0.125, [2]);
        return new BottomupPoseEstimator(backbone, new CifCafHead(CifCafMeta.Coco(), backbone.OutChannels[0], 8));
    }

    [Fact]
    public void KdTermsAreZeroWhenStudentIsTheTeacher()
    {
        using var teacher = Tiny(1);
        using var same = Tiny(2);
        using var other = Tiny(3);
        same.LoadStateDict(teacher.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        var kd = new CifCafDistillation();
        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([2, 3, 65, 65]);
        var fields = CifCafDistillation.TeacherFields(teacher, x);
        foreach (var student in new[] { same, other })
        {
            // The student as the teacher runs (BatchNorm statistics), heads raw.
            student.Eval();
            student.Head.Train();
        }
        var zero = kd.Forward(same.Forward(x), fields);
        Assert.Equal(kd.TermNames, zero.Keys);
        Assert.All(zero, kv => Assert.True(Math.Abs(kv.Value.ItemDouble()) < 1e-5, $"{kv.Key} = {kv.Value.ItemDouble()}"));

        var terms = kd.Forward(other.Forward(x), fields);
        Assert.All(terms, kv => Assert.True(kv.Value.ItemDouble() > 1e-3, $"{kv.Key} = {kv.Value.ItemDouble()}"));
        terms.Values.Aggregate((a, b) => a + b).Backward();
        using var grad = other.Head.Cif.Conv.Weight.Grad;
        Assert.NotNull(grad);
        Assert.Null(teacher.Head.Cif.Conv.Weight.Grad);
    }

    [Fact]
    public void TermsMatchHandComputedValues()
    {
        // One field, one cell, batch 2 (terms divide by it); components [spread, conf, dx, dy, scale].
        using var scope = torch.NewDisposeScope();
        var student = torch.FromArray(new float[] { 0, 0, 1, 2, 0, 9, 0, 0, 0, 0 }, [2, 1, 5, 1, 1]);
        var teacher = torch.FromArray(new float[] { 5, (float)Math.Log(3), 3, 2, 1, 0, -100, 7, 7, 7 }, [2, 1, 5, 1, 1]);
        var terms = FieldDistillationLoss.Cif().Forward(student, teacher);
        // Image 0: p_t = 0.75, p_s = 0.5: KL = 0.75 ln 1.5 + 0.25 ln 0.5. Image 1: p_t = 0 (logit -100), p_s = 0.5: ln 2.
        double kl0 = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);
        Assert.Equal((kl0 + Math.Log(2)) / 2, terms["kd.cif.c"].ItemDouble(), 4);
        // Vectors: |1 - 3| + |2 - 2| = 2 at weight 0.75; image 1 weighs ~0.
        Assert.Equal(0.75 * 2 / 2, terms["kd.cif.vec"].ItemDouble(), 5);
        // Scales: |softplus(0) - softplus(1)| at weight 0.75.
        double sp0 = Math.Log(2), sp1 = Math.Log(1 + Math.E);
        Assert.Equal(0.75 * (sp1 - sp0) / 2, terms["kd.cif.scales"].ItemDouble(), 5);
    }

    [Fact]
    public void DifferentFieldSizesAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => FieldDistillationLoss.Caf().Forward(torch.Zeros([1, 19, 8, 9, 9]), torch.Zeros([1, 19, 8, 17, 17])));
        Assert.Contains("same stride", e.Message);
    }
}
