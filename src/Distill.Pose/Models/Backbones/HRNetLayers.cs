using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>
/// ResNet bottleneck (1x1, 3x3, 1x1 convs without bias, BN after each, ReLU after the first two and after the residual
/// add), output width 4 x planes. Names: conv1, bn1, conv2, bn2, conv3, bn3 and, when the shape changes, downsample
/// (1x1 conv + BN).
/// </summary>
public sealed class Bottleneck : Module<Tensor, Tensor>
{
    public const long Expansion = 4;

    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public Conv2d Conv2 { get; }
    public BatchNorm2d Bn2 { get; }
    public Conv2d Conv3 { get; }
    public BatchNorm2d Bn3 { get; }

    /// <summary>[Conv2d 1x1, BatchNorm2d] on the shortcut, or null for an identity shortcut.</summary>
    public Sequential? Downsample { get; }

    public Bottleneck(long inChannels, long planes, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        long outChannels = planes * Expansion;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, planes, 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes, bnEps, bnMomentum));
        Conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes, bnEps, bnMomentum));
        Conv3 = RegisterModule("conv3", new Conv2d(planes, outChannels, 1, bias: false));
        Bn3 = RegisterModule("bn3", new BatchNorm2d(outChannels, bnEps, bnMomentum));
        if (inChannels != outChannels)
            Downsample = RegisterModule("downsample", new Sequential(
                new Conv2d(inChannels, outChannels, 1, bias: false), new BatchNorm2d(outChannels, bnEps, bnMomentum)));
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = Bn1.Forward(Conv1.Forward(x)).Relu();
        h = Bn2.Forward(Conv2.Forward(h)).Relu();
        h = Bn3.Forward(Conv3.Forward(h));
        var identity = Downsample is null ? x : Downsample.Forward(x);
        return (h + identity).Relu().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A module list whose slots may be empty, as PyTorch's ModuleList holding None: children keep their slot index as
/// their name ("0", "2", ...) and empty slots have no state-dict keys.
/// </summary>
public sealed class OptionalModuleList<T> : Module where T : Module
{
    private readonly T?[] _items;

    public OptionalModuleList(IReadOnlyList<T?> items)
    {
        _items = items.ToArray();
        for (int i = 0; i < _items.Length; i++)
            if (_items[i] is { } m) RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m);
    }

    public T? this[int index] => _items[index];
    public int Count => _items.Length;
}

/// <summary>
/// One output of an HRNet fuse stage: out_i = ReLU(sum_j F_ij(x_j)) with F_ii the identity. A higher-resolution input
/// (j &lt; i) goes through stride-2 steps (names j.k.*); a lower-resolution one (j &gt; i) through a 1x1 conv and BN
/// (names j.0, j.1) and then a bilinear resize (align_corners false) to branch i's exact size, which for the usual
/// sizes equals the reference's x2^(j-i) upsampling and also works when a branch size is odd.
/// </summary>
public sealed class FuseLayer : Module<Tensor[], Tensor>
{
    private readonly Sequential?[] _paths;

    /// <summary>The output branch.</summary>
    public int Index { get; }

    /// <summary>The path from each input branch (null for the output branch itself).</summary>
    public IReadOnlyList<Sequential?> Paths => _paths;

    public FuseLayer(int index, IReadOnlyList<long> channels, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        Index = index;
        _paths = new Sequential?[channels.Count];
        long ci = channels[index];
        for (int j = 0; j < channels.Count; j++)
        {
            long cj = channels[j];
            if (j > index)
            {
                _paths[j] = new Sequential(new Conv2d(cj, ci, 1, bias: false), new BatchNorm2d(ci, bnEps, bnMomentum));
            }
            else if (j < index)
            {
                var steps = new Sequential();
                for (int k = 0; k < index - j; k++)
                {
                    bool last = k == index - j - 1;
                    long cout = last ? ci : cj;
                    var step = new Sequential(
                        new Conv2d(cj, cj, 3, 2, 1, 1, cj, bias: false), new BatchNorm2d(cj, bnEps, bnMomentum),
                        new Conv2d(cj, cout, 1, bias: false), new BatchNorm2d(cout, bnEps, bnMomentum));
                    if (!last) step.Append(new ReLU());
                    steps.Append(step);
                }
                _paths[j] = steps;
            }
        }
        // Named by input branch, as the reference's ModuleList with None in slot i.
        for (int j = 0; j < _paths.Length; j++)
            if (_paths[j] is { } p) RegisterModule(j.ToString(System.Globalization.CultureInfo.InvariantCulture), p);
    }

    public override Tensor Forward(Tensor[] x)
    {
        using var scope = torch.NewDisposeScope();
        var target = x[Index];
        Tensor? y = null;
        for (int j = 0; j < x.Length; j++)
        {
            Tensor term;
            if (j == Index)
            {
                term = target;
            }
            else
            {
                term = _paths[j]!.Forward(x[j]);
                if (j > Index)
                    term = Functional.Interpolate(term, (target.Size(2), target.Size(3)), InterpolationMode.Bilinear, alignCorners: false);
            }
            y = y is null ? term : y + term;
        }
        return y!.Relu().MoveToOuterDisposeScope();
    }
}
