using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>Spatial pyramid pooling: 1x1 conv to half width, concat with stride-1 max pools (5, 9, 13), 1x1 conv back.</summary>
public sealed class SPPBottleneck : Module<Tensor, Tensor>
{
    private static readonly long[] Kernels = [5, 9, 13];
    private readonly ConvModule _conv1, _conv2;

    public ConvModule Conv1 => _conv1;
    public ConvModule Conv2 => _conv2;

    /// <summary>Kernel sizes of the stride-1 max pools, in concatenation order (after the unpooled branch).</summary>
    public IReadOnlyList<long> PoolKernelSizes => Kernels;

    public SPPBottleneck(long cin, long cout, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        long mid = cin / 2;
        _conv1 = RegisterModule("conv1", new ConvModule(cin, mid, 1, bnEps: bnEps, bnMomentum: bnMomentum));
        _conv2 = RegisterModule("conv2", new ConvModule(mid * (Kernels.Length + 1), cout, 1, bnEps: bnEps, bnMomentum: bnMomentum));
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var a = _conv1.Forward(x);
        var parts = new List<Tensor> { a };
        foreach (var k in Kernels) parts.Add(Functional.MaxPool2d(a, (k, k), (1, 1), (k / 2, k / 2)));
        var cat = torch.Cat(parts, 1);
        return _conv2.Forward(cat).MoveToOuterDisposeScope();
    }
}
