using Distill.Torch;
using Distill.Training.Distillation;

namespace Distill.Training.Tests.Distillation;

public class SimccTransferTests
{
    [Fact]
    public void IdentityGeometryKeepsTheDistribution()
    {
        using var scope = torch.NewDisposeScope();
        var p = torch.FromArray(new float[] { 0.1f, 0.2f, 0.4f, 0.2f, 0.1f, 0f }, [1, 1, 6]);
        // Student and teacher crops coincide (a = 1, b = 0) and both use 2 bins per pixel.
        var (q, inside) = SimccTransfer.Map(p, torch.From(1f), torch.From(0f), 6, 2.0, 2.0);
        Assert.Equal(p.ToArray<float>(), q.ToArray<float>(), new Tolerance(1e-6f));
        Assert.Equal(1f, inside.ItemFloat(), 5);
    }

    [Fact]
    public void ShiftedViewInterpolatesDropsOutsideMassAndReportsIt()
    {
        using var scope = torch.NewDisposeScope();
        // Teacher: 8 bins, 1 bin per pixel; all mass on teacher bins 5 and 6.
        var p = torch.FromArray(new float[] { 0, 0, 0, 0, 0, 0.5f, 0.5f, 0 }, [1, 1, 8]);
        // Student pixel s maps to teacher pixel t = s + 4.5; the student has 4 bins at 1 bin per pixel.
        var (q, inside) = SimccTransfer.Map(p, torch.From(1f), torch.From(4.5f), 4, 1.0, 1.0);
        // Positions 4.5, 5.5, 6.5, 7.5 -> densities 0.25, 0.5, 0.25, 0 -> normalised by 1.0.
        Assert.Equal(new[] { 0.25f, 0.5f, 0.25f, 0f }, q.ToArray<float>(), new Tolerance(1e-6f));
        // Teacher bins 5 and 6 map to student positions 0.5 and 1.5, inside [-0.5, 3.5]: all mass inside.
        Assert.Equal(1f, inside.ItemFloat(), 5);
        // Now the view moves so that teacher bin 6 falls outside: t = s + 7 (student 0..3 -> teacher 7..10).
        var (_, inside2) = SimccTransfer.Map(p, torch.From(1f), torch.From(7f), 4, 1.0, 1.0);
        Assert.Equal(0f, inside2.ItemFloat(), 5); // bins 5 and 6 sit at student -2 and -1
    }

    private sealed class Tolerance(float eps) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(float v) => 0;
    }
}
