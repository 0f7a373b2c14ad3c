namespace Distill.Torch.Nn;

/// <summary>2-D convolution with PyTorch's parameter names (weight, bias) and default initialisation.</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    public long InChannels { get; }
    public long OutChannels { get; }
    public (long H, long W) KernelSize { get; }
    public (long H, long W) Stride { get; }
    public (long H, long W) Padding { get; }
    public (long H, long W) Dilation { get; }
    public long Groups { get; }

    public Tensor Weight { get; }
    public Tensor? Bias { get; private set; }

    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias) { }

    public Conv2d(long inChannels, long outChannels, (long H, long W) kernelSize, (long H, long W) stride, (long H, long W) padding,
        (long H, long W) dilation, long groups = 1, bool bias = true)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"channels ({inChannels} -> {outChannels}) must be divisible by groups ({groups})");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        var w = torch.Empty([outChannels, inChannels / groups, kernelSize.H, kernelSize.W]);
        Init.KaimingUniform_(w, a: Math.Sqrt(5));
        Weight = RegisterParameter("weight", w);
        if (bias)
        {
            var (fanIn, _) = Init.CalculateFans(w);
            double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            Bias = RegisterParameter("bias", torch.Empty([outChannels]).Uniform_(-bound, bound));
        }
        else
        {
            RegisterParameterSlot("bias");
        }
    }

    public override Tensor Forward(Tensor x) => Functional.Conv2d(x, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <summary>Sets (or adds) the bias; used when a following BatchNorm is folded in. The bias is trainable exactly
    /// when the weight is, so folding a frozen conv leaves it frozen whatever the order of the two steps.</summary>
    public void SetWeightAndBias(Tensor weight, Tensor bias)
    {
        using (Autograd.NoGrad()) Weight.SetData(weight);
        ReplaceParameter("bias", bias);
        bias.RequiresGrad = Weight.RequiresGrad;
        Bias = bias;
    }
}

public sealed class ConvTranspose2d : Module<Tensor, Tensor>
{
    public (long H, long W) Stride { get; }
    public (long H, long W) Padding { get; }
    public (long H, long W) OutputPadding { get; }
    public long Groups { get; }
    public long InChannels { get; }
    public long OutChannels { get; }
    public long KernelSize { get; }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public ConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long outputPadding = 0, long groups = 1, bool bias = true)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = (stride, stride);
        Padding = (padding, padding);
        OutputPadding = (outputPadding, outputPadding);
        Groups = groups;
        // PyTorch stores transposed-conv weights as (in, out / groups, kh, kw).
        var w = torch.Empty([inChannels, outChannels / groups, kernelSize, kernelSize]);
        Init.KaimingUniform_(w, a: Math.Sqrt(5));
        Weight = RegisterParameter("weight", w);
        if (bias)
        {
            var (fanIn, _) = Init.CalculateFans(w);
            double bound = 1 / Math.Sqrt(fanIn);
            Bias = RegisterParameter("bias", torch.Empty([outChannels]).Uniform_(-bound, bound));
        }
        else
        {
            RegisterParameterSlot("bias");
        }
    }

    public override Tensor Forward(Tensor x) => Functional.ConvTranspose2d(x, Weight, Bias, Stride, Padding, OutputPadding, Groups);
}

/// <summary>Batch normalisation over (N, C, H, W) with running statistics and num_batches_tracked, as PyTorch.</summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    public long NumFeatures { get; }
    public double Eps { get; set; }
    public double Momentum { get; set; }

    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }
    public Tensor NumBatchesTracked { get; }

    public BatchNorm2d(long numFeatures, double eps = 1e-5, double momentum = 0.1)
    {
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", torch.Ones([numFeatures]));
        Bias = RegisterParameter("bias", torch.Zeros([numFeatures]));
        RunningMean = RegisterBuffer("running_mean", torch.Zeros([numFeatures]));
        RunningVar = RegisterBuffer("running_var", torch.Ones([numFeatures]));
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", torch.Zeros([], DType.Int64));
    }

    /// <summary>With a group, training statistics span the batches of all its ranks (SyncBatchNorm); evaluation is unchanged.</summary>
    public Distributed.ProcessGroup? SyncGroup { get; set; }

    public override Tensor Forward(Tensor x)
    {
        if (Training)
        {
            using (Autograd.NoGrad()) NumBatchesTracked.Add_(1);
            if (SyncGroup is { } group) return group.SyncBatchNorm(x, RunningMean, RunningVar, Weight, Bias, Momentum, Eps);
        }
        return Functional.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, Training, Momentum, Eps);
    }
}

public sealed class LayerNorm : Module<Tensor, Tensor>
{
    public long[] NormalizedShape { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
        : this([normalizedShape], eps, elementwiseAffine) { }

    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        NormalizedShape = normalizedShape;
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", torch.Ones(normalizedShape));
            Bias = RegisterParameter("bias", torch.Zeros(normalizedShape));
        }
    }

    public override Tensor Forward(Tensor x) => Functional.LayerNorm(x, NormalizedShape, Weight, Bias, Eps);
}

public sealed class Linear : Module<Tensor, Tensor>
{
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Linear(long inFeatures, long outFeatures, bool bias = true)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = torch.Empty([outFeatures, inFeatures]);
        Init.KaimingUniform_(w, a: Math.Sqrt(5));
        Weight = RegisterParameter("weight", w);
        if (bias)
        {
            double bound = inFeatures > 0 ? 1 / Math.Sqrt(inFeatures) : 0;
            Bias = RegisterParameter("bias", torch.Empty([outFeatures]).Uniform_(-bound, bound));
        }
        else
        {
            RegisterParameterSlot("bias");
        }
    }

    public override Tensor Forward(Tensor x) => Functional.Linear(x, Weight, Bias);
}

public sealed class Dropout : Module<Tensor, Tensor>
{
    public double P { get; }

    public Dropout(double p = 0.5)
    {
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
        P = p;
    }

    public override Tensor Forward(Tensor x) => Training && P > 0 ? Functional.Dropout(x, P, true) : x.Alias();
}

/// <summary>Stochastic depth: drops whole samples of a residual branch in training, scaling survivors by 1/keep.</summary>
public sealed class DropPath : Module<Tensor, Tensor>
{
    public double P { get; }

    public DropPath(double p) => P = p;

    public override Tensor Forward(Tensor x)
    {
        if (!Training || P <= 0) return x.Alias();
        double keep = 1 - P;
        var shape = new long[x.Dim];
        Array.Fill(shape, 1L);
        shape[0] = x.Size(0);
        using var mask = torch.Empty(shape, x.DType, x.Device).Bernoulli_(keep);
        using var scaled = mask.Div_(keep);
        return x.Mul(scaled);
    }
}

public sealed class MaxPool2d(long kernelSize, long stride, long padding = 0) : Module<Tensor, Tensor>
{
    public long KernelSize { get; } = kernelSize;
    public long Stride { get; } = stride;
    public long Padding { get; } = padding;

    public override Tensor Forward(Tensor x) =>
        Functional.MaxPool2d(x, (KernelSize, KernelSize), (Stride, Stride), (Padding, Padding));
}

public sealed class AdaptiveAvgPool2d(long h, long w) : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => Functional.AdaptiveAvgPool2d(x, (h, w));
}

public sealed class Identity : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => x.Alias();
}

public sealed class ReLU : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => x.Relu();
}

public sealed class SiLU : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => x.Silu();
}

public sealed class GELU(bool tanhApproximation = false) : Module<Tensor, Tensor>
{
    public bool TanhApproximation { get; } = tanhApproximation;

    public override Tensor Forward(Tensor x) => x.Gelu(TanhApproximation);
}

public sealed class Hardsigmoid : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => x.Hardsigmoid();
}

public sealed class Sigmoid : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>Children named "0", "1", ... applied in order.</summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> _layers = new();

    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        foreach (var l in layers) Append(l);
    }

    public Sequential Append(Module<Tensor, Tensor> layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    public int Count => _layers.Count;

    public Module<Tensor, Tensor> this[int i] => _layers[i];

    public override Tensor Forward(Tensor x)
    {
        if (_layers.Count == 0) return x.Alias();
        var cur = _layers[0].Forward(x);
        for (int i = 1; i < _layers.Count; i++)
        {
            var next = _layers[i].Forward(cur);
            cur.Dispose();
            cur = next;
        }
        return cur;
    }
}

/// <summary>An indexable list of child modules named "0", "1", ...</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = new();

    public ModuleList(IEnumerable<T>? items = null)
    {
        if (items is not null) foreach (var i in items) Append(i);
    }

    public ModuleList<T> Append(T module)
    {
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    public T this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
