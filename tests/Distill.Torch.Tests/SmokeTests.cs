using Distill.Torch;

namespace Distill.Torch.Tests;

public class SmokeTests
{
    [Fact]
    public void AddsTwoVectors()
    {
        using var a = Torch.From(1f, 2f, 3f);
        using var b = Torch.From(10f, 20f, 30f);
        using var c = a + b;
        Assert.Equal(new[] { 11f, 22f, 33f }, c.ToArray<float>());
    }

    [Fact]
    public void MatmulShapeMismatchThrowsWithMessage()
    {
        using var a = Torch.Zeros([2, 3]);
        using var b = Torch.Zeros([4, 5]);
        var ex = Assert.Throws<TorchException>(() => a.MatMul(b));
        Assert.Contains("cannot be multiplied", ex.Message);
    }
}
