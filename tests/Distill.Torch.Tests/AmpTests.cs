using Distill.Torch.Optim;

namespace Distill.Torch.Tests;

public class AmpTests
{
    [Fact]
    public void Autocast_runs_matrix_products_in_bfloat16_inside_its_scope_only()
    {
        using var a = torch.FromArray(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = torch.FromArray(new float[] { 1.00390625f, 0, 0, 1 }, [2, 2]);
        using (new Autocast(DeviceType.Cpu, DType.BFloat16))
        {
            Assert.True(Autocast.IsEnabled(DeviceType.Cpu));
            using var c = a.MatMul(b);
            Assert.Equal(DType.BFloat16, c.DType);
            // 1.00390625 is below bf16's resolution at 1 (2^-7): cast to bf16 it becomes 1.
            using var f = c.To(DType.Float32);
            Assert.Equal(new float[] { 1, 2, 3, 4 }, f.ToArray<float>());
        }
        Assert.False(Autocast.IsEnabled(DeviceType.Cpu));
        using var d = a.MatMul(b);
        Assert.Equal(DType.Float32, d.DType);
        Assert.Equal(1.00390625f, d.ToArray<float>()[0]);
    }

    [Fact]
    public void Cpu_autocast_refuses_float16()
    {
        Assert.Throws<TorchException>(() => new Autocast(DeviceType.Cpu, DType.Float16));
        Assert.False(Autocast.IsEnabled(DeviceType.Cpu));
    }

    [Fact]
    public void Grad_scaler_unscales_skips_overflow_and_adapts_its_scale()
    {
        var scaler = new GradScaler(initScale: 8, growthInterval: 2);
        using var w = torch.FromArray(new float[] { 1, 1 }, [2]).RequiresGrad_();
        using (var loss = scaler.ScaleLoss((w * torch.FromArray(new float[] { 3, 5 }, [2])).Sum())) loss.Backward();
        using (var g = w.Grad!) Assert.Equal(new float[] { 24, 40 }, g.ToArray<float>());
        Assert.True(scaler.Unscale([w]));
        using (var g = w.Grad!) Assert.Equal(new float[] { 3, 5 }, g.ToArray<float>());
        scaler.Update(true);
        Assert.Equal(8, scaler.Scale);
        scaler.Update(true); // the second good step in a row doubles it
        Assert.Equal(16, scaler.Scale);

        w.ZeroGrad();
        using (var loss = (w * float.PositiveInfinity).Sum()) loss.Backward();
        Assert.False(scaler.Unscale([w]));
        scaler.Update(false);
        Assert.Equal(8, scaler.Scale);
    }
}
