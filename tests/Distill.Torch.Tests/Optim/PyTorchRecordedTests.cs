using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

/// <summary>
/// Weights after three steps recorded from PyTorch 1.13 (Debian python3-torch), float64, with
/// w0 = [0.8, -1.5, 2.5], c = [1, 3, 0.2], loss = (w·w·c·0.5).sum(), zero_grad / backward / step each time:
/// <code>
/// AdamW(lr=0.01, weight_decay=0.05, amsgrad=True)                        -> 0.7688289405173817, -1.4677732453006582, 2.466271279391292
/// Adam(lr=0.01, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.1)          -> 0.7700183529732452, -1.470009545541847, 2.4700057009598644
/// SGD(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3)           -> 0.5953828852169191, -0.44135396387047304, 2.367401045910372
/// SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)           -> 0.5049017400576141, -0.12332088439165134, 2.301263325924294
/// </code>
/// The shim runs the same per-tensor operations on the same libtorch, so the results agree to the last bits.
/// </summary>
public class PyTorchRecordedTests
{
    private static double[] Run(Func<Tensor, Optimizer> make)
    {
        using var w = Param(0.8, -1.5, 2.5);
        using var opt = make(w);
        for (int i = 0; i < 3; i++)
        {
            opt.ZeroGrad();
            QuadraticGrad(w, 1.0, 3.0, 0.2);
            opt.Step();
        }
        return Values(w);
    }

    [Fact]
    public void AdamWWithAmsgrad() =>
        Near([0.7688289405173817, -1.4677732453006582, 2.466271279391292],
            Run(w => new AdamW([w], lr: 0.01, weightDecay: 0.05, amsgrad: true)), 0);

    [Fact]
    public void AdamWithL2() =>
        Near([0.7700183529732452, -1.470009545541847, 2.4700057009598644],
            Run(w => new Adam([w], lr: 0.01, beta1: 0.85, beta2: 0.99, eps: 1e-6, weightDecay: 0.1)), 0);

    [Fact]
    public void SgdWithDampening() =>
        Near([0.5953828852169191, -0.44135396387047304, 2.367401045910372],
            Run(w => new SGD([w], lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3)), 0);

    [Fact]
    public void SgdWithNesterov() =>
        Near([0.5049017400576141, -0.12332088439165134, 2.301263325924294],
            Run(w => new SGD([w], lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3)), 0);
}
