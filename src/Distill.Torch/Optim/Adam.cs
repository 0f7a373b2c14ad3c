using Distill.Torch.Interop;

namespace Distill.Torch.Optim;

/// <summary>
/// Adam with PyTorch 1.13's single-tensor arithmetic. Per parameter with a gradient g at step t (from 1):
/// g += wd·p (L2; <see cref="AdamW"/> instead scales p by 1 − lr·wd first); m = β1·m + (1 − β1)·g;
/// v = β2·v + (1 − β2)·g²; with amsgrad v̂ = max(v̂, v) replaces v below;
/// p −= lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps). State (exp_avg, exp_avg_sq, max_exp_avg_sq) starts as zeros.
/// </summary>
public class Adam : Optimizer
{
    private readonly double _lr, _beta1, _beta2, _eps, _weightDecay;
    private readonly bool _amsgrad, _maximize, _decoupled;

    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad, maximize) { }

    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupled: false) { }

    private protected Adam(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
                           double weightDecay, bool amsgrad, bool maximize, bool decoupled)
    {
        ArgumentNullException.ThrowIfNull(groups);
        (_lr, _beta1, _beta2, _eps, _weightDecay) = (lr, beta1, beta2, eps, weightDecay);
        (_amsgrad, _maximize, _decoupled) = (amsgrad, maximize, decoupled);
        foreach (var g in groups) AddParamGroup(g);
        if (ParamGroups.Count == 0) throw new ArgumentException("optimizer got an empty list of param groups", nameof(groups));
    }

    public override string TypeName => "Adam";

    /// <summary>The groups with their Adam options.</summary>
    public AdamParamGroup Group(int index) => (AdamParamGroup)ParamGroups[index];

    private protected override ParamGroup Prepare(ParamGroup group)
    {
        var g = AdamParamGroup.From(group, TypeName);
        g.FillDefaults(_lr, _weightDecay, _beta1, _beta2, _eps, _amsgrad, _maximize);
        return g;
    }

    private protected override ParamGroup NewGroup(IReadOnlyList<Tensor> parameters) => new AdamParamGroup(parameters);

    private protected override bool HasStepCount => true;

    private static readonly string[] Moments = ["exp_avg", "exp_avg_sq"];
    private static readonly string[] MomentsAndMax = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    private protected override IReadOnlyList<string> StateTensorNames(ParamGroup group) =>
        ((AdamParamGroup)group).Amsgrad ? MomentsAndMax : Moments;

    public override unsafe void Step()
    {
        ThrowIfDisposed();
        for (int gi = 0; gi < ParamGroups.Count; gi++)
        {
            var g = Group(gi);
            int n = g.Params.Count;
            if (n == 0) continue;
            var steps = new long[n];
            var expAvg = new HandleArray(n);
            var expAvgSq = new HandleArray(n);
            var maxExpAvgSq = new HandleArray(n);
            try
            {
                for (int j = 0; j < n; j++)
                {
                    var p = g.Params[j];
                    if (!HasGrad(p)) continue;
                    var s = GetOrCreateState(gi, j);
                    // Lazy init, as PyTorch: zeros like the parameter at its first gradient.
                    var m = s.Get("exp_avg") ?? s.Set("exp_avg", torch.ZerosLike(p));
                    var v = s.Get("exp_avg_sq") ?? s.Set("exp_avg_sq", torch.ZerosLike(p));
                    expAvg.Set(j, m);
                    expAvgSq.Set(j, v);
                    if (g.Amsgrad) maxExpAvgSq.Set(j, s.Get("max_exp_avg_sq") ?? s.Set("max_exp_avg_sq", torch.ZerosLike(p)));
                    steps[j] = ++s.Step;
                }
                using var ps = new HandleArray(g.Params.ToArray());
                fixed (IntPtr* pp = ps.Pointers)
                fixed (IntPtr* m = expAvg.Pointers)
                fixed (IntPtr* v = expAvgSq.Pointers)
                fixed (IntPtr* vmax = maxExpAvgSq.Pointers)
                fixed (long* st = steps)
                    Native.Check(Native.distill_adam_step(pp, m, v, vmax, st, n, g.Lr, g.Beta1, g.Beta2, g.Eps, g.WeightDecay,
                        _decoupled, g.Amsgrad, g.Maximize));
            }
            finally
            {
                expAvg.Dispose();
                expAvgSq.Dispose();
                maxExpAvgSq.Dispose();
            }
        }
    }
}
