using Distill.Torch.Interop;

namespace Distill.Torch.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, with PyTorch
/// 1.13's single-tensor arithmetic: d = g + wd·p; buf = d at the first step, then buf·momentum + (1 − dampening)·d;
/// d = nesterov ? d + momentum·buf : buf; p −= lr·d.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly double _lr, _momentum, _dampening, _weightDecay;
    private readonly bool _nesterov, _maximize;

    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weightDecay, nesterov, maximize) { }

    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false, bool maximize = false)
    {
        ArgumentNullException.ThrowIfNull(groups);
        (_lr, _momentum, _dampening, _weightDecay, _nesterov, _maximize) = (lr, momentum, dampening, weightDecay, nesterov, maximize);
        foreach (var g in groups) AddParamGroup(g);
        if (ParamGroups.Count == 0) throw new ArgumentException("optimizer got an empty list of param groups", nameof(groups));
    }

    public override string TypeName => "SGD";

    /// <summary>The groups with their SGD options.</summary>
    public SgdParamGroup Group(int index) => (SgdParamGroup)ParamGroups[index];

    private protected override ParamGroup Prepare(ParamGroup group)
    {
        var g = SgdParamGroup.From(group);
        g.FillDefaults(_lr, _weightDecay, _momentum, _dampening, _nesterov, _maximize);
        return g;
    }

    private protected override ParamGroup NewGroup(IReadOnlyList<Tensor> parameters) => new SgdParamGroup(parameters);

    private protected override bool HasStepCount => false;

    private static readonly string[] MomentumNames = ["momentum_buffer"];

    private protected override IReadOnlyList<string> StateTensorNames(ParamGroup group) => MomentumNames;

    public override unsafe void Step()
    {
        ThrowIfDisposed();
        for (int gi = 0; gi < ParamGroups.Count; gi++)
        {
            var g = Group(gi);
            int n = g.Params.Count;
            if (n == 0) continue;
            var bufs = new HandleArray(n);
            try
            {
                for (int j = 0; j < n; j++) bufs.Set(j, State(gi, j)?.Get("momentum_buffer"));
                int status;
                using (var ps = new HandleArray(g.Params.ToArray()))
                fixed (IntPtr* p = ps.Pointers)
                fixed (IntPtr* b = bufs.Pointers)
                    status = Native.distill_sgd_step(p, b, n, g.Lr, g.Momentum, g.Dampening, g.WeightDecay, g.Nesterov, g.Maximize);
                // The first step with momentum creates the buffers natively; take ownership even if a later parameter failed.
                for (int j = 0; j < n; j++)
                    if (State(gi, j)?.Get("momentum_buffer") is null && bufs.Pointers[j] != IntPtr.Zero)
                        GetOrCreateState(gi, j).Set("momentum_buffer", Tensor.FromRaw(bufs.Pointers[j]));
                Native.Check(status);
            }
            finally
            {
                bufs.Dispose();
            }
        }
    }
}
