using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>
/// HRFormer's shape: the width and attention heads of each of the four branches (strides 4, 8, 16, 32), the number of
/// modules in stages 2, 3 and 4 (which run 2, 3 and 4 branches), the blocks per branch in every module, the window
/// side and the FFN expansion.
/// </summary>
public sealed record HRFormerArch(long[] Channels, long[] Heads, int[] Modules, int Blocks = 2, long Window = 7, double MlpRatio = 4)
{
    /// <summary>HRFormer-T (the HRFormer authors' tiny model; mmpose ships no config for it).</summary>
    public static HRFormerArch Tiny { get; } = new([18, 36, 72, 144], [1, 2, 4, 8], [1, 3, 2]);

    /// <summary>HRFormer-S, as mmpose's td-hm_hrformer-small configs.</summary>
    public static HRFormerArch Small { get; } = new([32, 64, 128, 256], [1, 2, 4, 8], [1, 4, 2]);

    /// <summary>HRFormer-B, as mmpose's td-hm_hrformer-base configs.</summary>
    public static HRFormerArch Base { get; } = new([78, 156, 312, 624], [2, 4, 8, 16], [1, 4, 2]);

    /// <summary>The preset of a name (tiny/t, small/s, base/b), or null.</summary>
    public static HRFormerArch? FromName(string name) => name.ToLowerInvariant() switch
    {
        "tiny" or "t" => Tiny,
        "small" or "s" => Small,
        "base" or "b" => Base,
        _ => null,
    };

    /// <summary>Every reason this shape cannot be built, empty when it can.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Channels.Length != 4) problems.Add($"num_channels needs 4 values (one per branch), got {Channels.Length}");
        if (Heads.Length != 4) problems.Add($"branch_heads needs 4 values (one per branch), got {Heads.Length}");
        if (Modules.Length != 3) problems.Add($"num_modules needs 3 values (stages 2, 3 and 4), got {Modules.Length}");
        for (int i = 0; i < Math.Min(Channels.Length, Heads.Length); i++)
            if (Heads[i] < 1 || Channels[i] < 1 || Channels[i] % Heads[i] != 0)
                problems.Add($"branch {i}: {Channels[i]} channels are not divisible by {Heads[i]} heads");
        if (Modules.Any(m => m < 1)) problems.Add("num_modules must be at least 1 in every stage");
        if (Blocks < 1) problems.Add("num_blocks must be at least 1");
        if (Window < 1) problems.Add("window_size must be at least 1");
        if (MlpRatio <= 0) problems.Add("mlp_ratio must be positive");
        return problems;
    }
}

/// <summary>
/// One HRFormer module: every branch runs its blocks (names branches.i.k), then the fuse layers mix the branches
/// (names fuse_layers.i.j). With multiscale output off (the last module of mmpose's stage 4) only fuse row 0 exists
/// and the module returns branch 0 alone.
/// </summary>
public sealed class HRFormerModule : Module<Tensor[], Tensor[]>
{
    private readonly ModuleList<Sequential> _branches;
    private readonly ModuleList<FuseLayer>? _fuse;

    public IReadOnlyList<Sequential> Branches => _branches;

    /// <summary>Null for a single-branch module, which has no fusion.</summary>
    public IReadOnlyList<FuseLayer>? FuseLayers => _fuse;

    public bool MultiscaleOutput { get; }
    public int NumBranches => _branches.Count;

    public HRFormerModule(IReadOnlyList<long> channels, IReadOnlyList<long> heads, int blocks, long window, double mlpRatio,
        IReadOnlyList<double> dropPaths, bool multiscaleOutput, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        MultiscaleOutput = multiscaleOutput;
        _branches = new ModuleList<Sequential>();
        for (int i = 0; i < channels.Count; i++)
        {
            var branch = new Sequential();
            for (int k = 0; k < blocks; k++)
                branch.Append(new HRFormerBlock(channels[i], heads[i], window, mlpRatio, dropPaths[k], 1e-6, bnEps, bnMomentum));
            _branches.Append(branch);
        }
        RegisterModule("branches", _branches);
        if (channels.Count > 1)
        {
            _fuse = new ModuleList<FuseLayer>();
            for (int i = 0; i < (multiscaleOutput ? channels.Count : 1); i++) _fuse.Append(new FuseLayer(i, channels, bnEps, bnMomentum));
            RegisterModule("fuse_layers", _fuse);
        }
    }

    public override Tensor[] Forward(Tensor[] x)
    {
        if (x.Length != _branches.Count) throw new ArgumentException($"an HRFormer module of {_branches.Count} branches got {x.Length} inputs");
        using var scope = torch.NewDisposeScope();
        var y = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = _branches[i].Forward(x[i]);
        var outs = _fuse is null ? y : _fuse.Select(f => f.Forward(y)).ToArray();
        foreach (var o in outs) o.MoveToOuterDisposeScope();
        return outs;
    }
}

/// <summary>
/// HRFormer (mmpose's, by state-dict name): a stride-4 convolutional stem (conv1, bn1, conv2, bn2), two ResNet
/// bottlenecks (layer1), then stages 2-4 of HRFormer modules running 2, 3 and 4 parallel branches at strides 4, 8, 16
/// and 32, each stage opened by a transition that derives the new branch from the lowest-resolution one
/// (transition1-3). Blocks use 7x7 local-window attention with a relative position bias and a depthwise-conv FFN;
/// stochastic depth rises linearly over all blocks. BN eps defaults to 1e-5, LN eps is 1e-6.
/// </summary>
/// <remarks>
/// By default (<c>multiscaleOutput</c> false, as mmpose builds it) the last module only fuses into branch 0 and
/// <see cref="Module{TIn,TOut}.Forward"/> returns that one stride-4 map, which heatmap heads read. With multiscale
/// output the last module fuses all four rows (adding <c>stage4.N.fuse_layers.1-3</c>) and the backbone returns all
/// four branches, highest resolution first.
/// </remarks>
public sealed class HRFormer : Backbone
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Sequential _layer1;
    private readonly OptionalModuleList<Sequential>[] _transitions = new OptionalModuleList<Sequential>[3];
    private readonly ModuleList<HRFormerModule>[] _stages = new ModuleList<HRFormerModule>[3];

    public HRFormerArch Arch { get; }
    public bool MultiscaleOutput { get; }

    public Conv2d Conv1 => _conv1;
    public BatchNorm2d Bn1 => _bn1;
    public Conv2d Conv2 => _conv2;
    public BatchNorm2d Bn2 => _bn2;
    public Sequential Layer1 => _layer1;

    /// <summary>transition1-3: per branch of the next stage a path, or null where the branch passes through.</summary>
    public IReadOnlyList<OptionalModuleList<Sequential>> Transitions => _transitions;

    /// <summary>stage2-4.</summary>
    public IReadOnlyList<ModuleList<HRFormerModule>> Stages => _stages;

    /// <summary>Stochastic depth rate of the last block (the first is 0).</summary>
    public double DropPathRate { get; }

    public override long[] OutChannels => MultiscaleOutput ? Arch.Channels.ToArray() : [Arch.Channels[0]];

    public override int[] OutStrides => MultiscaleOutput ? [4, 8, 16, 32] : [4];

    public HRFormer(HRFormerArch arch, double dropPathRate = 0.1, bool multiscaleOutput = false, double bnEps = 1e-5,
        double bnMomentum = 0.1)
    {
        if (arch.Problems() is { Count: > 0 } problems) throw new ArgumentException("HRFormer: " + string.Join("; ", problems));
        Arch = arch;
        MultiscaleOutput = multiscaleOutput;
        DropPathRate = dropPathRate;
        _conv1 = RegisterModule("conv1", new Conv2d(3, 64, 3, 2, 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(64, bnEps, bnMomentum));
        _conv2 = RegisterModule("conv2", new Conv2d(64, 64, 3, 2, 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(64, bnEps, bnMomentum));
        _layer1 = RegisterModule("layer1", new Sequential(new Bottleneck(64, 64, bnEps, bnMomentum), new Bottleneck(256, 64, bnEps, bnMomentum)));

        // One rate per block position, linear from 0 over every block of stages 2-4; a module's k-th block in every
        // branch takes the same rate.
        int depth = arch.Blocks * arch.Modules.Sum(), next = 0;
        var rates = Enumerable.Range(0, depth).Select(i => depth > 1 ? dropPathRate * i / (depth - 1) : 0.0).ToArray();
        var previous = new long[] { 64 * Bottleneck.Expansion };
        for (int s = 0; s < 3; s++)
        {
            int branches = s + 2;
            var channels = arch.Channels.Take(branches).ToArray();
            _transitions[s] = RegisterModule($"transition{s + 1}", Transition(previous, channels, bnEps, bnMomentum));
            var stage = new ModuleList<HRFormerModule>();
            for (int m = 0; m < arch.Modules[s]; m++)
            {
                bool multiscale = multiscaleOutput || s < 2 || m < arch.Modules[s] - 1;
                stage.Append(new HRFormerModule(channels, arch.Heads.Take(branches).ToArray(), arch.Blocks, arch.Window,
                    arch.MlpRatio, rates.AsSpan(next, arch.Blocks).ToArray(), multiscale, bnEps, bnMomentum));
                next += arch.Blocks;
            }
            _stages[s] = RegisterModule($"stage{s + 2}", stage);
            previous = channels;
        }
        InitWeights();
    }

    /// <summary>
    /// HRNet transitions: an existing branch whose width changes gets a 3x3 conv + BN + ReLU (names i.0-2), a new branch
    /// a chain of 3x3 stride-2 conv + BN + ReLU steps from the last existing branch (names i.k.0-2).
    /// </summary>
    private static OptionalModuleList<Sequential> Transition(long[] previous, long[] current, double bnEps, double bnMomentum)
    {
        var items = new Sequential?[current.Length];
        for (int i = 0; i < current.Length; i++)
        {
            if (i < previous.Length)
            {
                if (current[i] != previous[i])
                    items[i] = new Sequential(new Conv2d(previous[i], current[i], 3, 1, 1, bias: false),
                        new BatchNorm2d(current[i], bnEps, bnMomentum), new ReLU());
                continue;
            }
            var steps = new Sequential();
            long cin = previous[^1];
            for (int j = 0; j <= i - previous.Length; j++)
            {
                long cout = j == i - previous.Length ? current[i] : cin;
                steps.Append(new Sequential(new Conv2d(cin, cout, 3, 2, 1, bias: false), new BatchNorm2d(cout, bnEps, bnMomentum), new ReLU()));
                cin = cout;
            }
            items[i] = steps;
        }
        return new OptionalModuleList<Sequential>(items);
    }

    /// <summary>mmpose's initialisation: conv weights N(0, 0.001) with zero biases; BN, LN and Linear keep their defaults.</summary>
    private void InitWeights()
    {
        using var _ = Autograd.NoGrad();
        foreach (var (_, m) in NamedModules())
        {
            if (m is not Conv2d conv) continue;
            conv.Weight.Normal_(0, 0.001);
            conv.Bias?.Zero_();
        }
    }

    public override Tensor[] Forward(Tensor x)
    {
        var outs = ForwardStages(x, null);
        return MultiscaleOutput ? outs : [outs[0]];
    }

    /// <summary>
    /// The outputs of layer1 and of each stage's branches (stage4 holds only branch 0 unless multiscale), for parity
    /// checks and for heads that read intermediate stages. The caller disposes them.
    /// </summary>
    public (Tensor Layer1, Tensor[] Stage2, Tensor[] Stage3, Tensor[] Stage4) ForwardAll(Tensor x)
    {
        var taps = new List<Tensor[]>();
        var last = ForwardStages(x, taps);
        return (taps[0][0], taps[1], taps[2], last);
    }

    private Tensor[] ForwardStages(Tensor x, List<Tensor[]>? taps)
    {
        using var scope = torch.NewDisposeScope();
        var h = _bn1.Forward(_conv1.Forward(x)).Relu();
        h = _bn2.Forward(_conv2.Forward(h)).Relu();
        h = _layer1.Forward(h);
        taps?.Add([h]);
        Tensor[] y = [h];
        for (int s = 0; s < 3; s++)
        {
            var t = _transitions[s];
            // A new branch is derived from the lowest-resolution output of the previous stage.
            var input = new Tensor[t.Count];
            for (int i = 0; i < t.Count; i++)
                input[i] = t[i] is { } path ? path.Forward(i < y.Length ? y[i] : y[^1]) : y[i];
            y = input;
            foreach (var module in _stages[s]) y = module.Forward(y);
            if (s < 2) taps?.Add(y);
        }
        if (taps is not null)
            foreach (var tap in taps) foreach (var tensor in tap) tensor.MoveToOuterDisposeScope();
        foreach (var tensor in y) tensor.MoveToOuterDisposeScope();
        return y;
    }
}
