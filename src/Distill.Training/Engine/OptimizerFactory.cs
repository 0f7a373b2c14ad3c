using Distill.Torch;
using Distill.Torch.Optim;
using Distill.Training.Config.Schema;

namespace Distill.Training.Engine;

/// <summary>
/// Builds the optimizer (its parameter groups) and the learning-rate schedule from the optimizer and schedule sections.
/// The trainer and the KD benchmark both build theirs here.
/// </summary>
public static class OptimizerFactory
{
    /// <summary>
    /// AdamW, Adam or SGD over the trainable <paramref name="parameters"/> in two groups: weight decay on matrices and
    /// kernels, and on norm weights and biases (1-d parameters) only as far as norm_decay_mult / bias_decay_mult allow.
    /// With backbone_lr_mult other than 1 the parameters in <paramref name="backbone"/> form two more groups of their
    /// own, at lr x backbone_lr_mult (the schedules scale each group from its own base).
    /// </summary>
    public static Optimizer Create(OptimizerOptions oo, IEnumerable<Tensor> parameters, IEnumerable<Tensor>? backbone = null)
    {
        var all = parameters.Where(p => p.RequiresGrad).ToList();
        var inBackbone = new HashSet<Tensor>(oo.BackboneLrMult != 1.0 ? backbone ?? [] : [], ReferenceEqualityComparer.Instance);
        var groups = new List<ParamGroup>();
        void AddGroups(List<Tensor> members, double? lr)
        {
            var decay = members.Where(p => p.Dim > 1).ToList();
            var noDecay = members.Where(p => p.Dim <= 1).ToList();
            var added = new List<ParamGroup>();
            if (decay.Count > 0) added.Add(new ParamGroup(decay) { WeightDecay = oo.WeightDecay });
            if (noDecay.Count > 0) added.Add(new ParamGroup(noDecay) { WeightDecay = oo.WeightDecay * Math.Max(oo.NormDecayMult, oo.BiasDecayMult) });
            if (lr is { } rate)
                foreach (var g in added) g.Lr = g.InitialLr = rate;
            groups.AddRange(added);
        }
        AddGroups(all.Where(p => !inBackbone.Contains(p)).ToList(), null);
        if (inBackbone.Count > 0) AddGroups(all.Where(inBackbone.Contains).ToList(), oo.Lr * oo.BackboneLrMult);
        return oo.Type switch
        {
            OptimizerType.AdamW => new AdamW(groups, oo.Lr, oo.Betas[0], oo.Betas[1], oo.Eps, oo.WeightDecay),
            OptimizerType.Adam => new Adam(groups, oo.Lr, oo.Betas[0], oo.Betas[1], oo.Eps, oo.WeightDecay),
            _ => new SGD(groups, oo.Lr, oo.Momentum, 0, oo.WeightDecay, oo.Nesterov),
        };
    }

    /// <summary>Optimizer steps in an epoch of <paramref name="batchesPerEpoch"/> batches.</summary>
    public static long StepsPerEpoch(OptimizerOptions oo, int batchesPerEpoch) => Math.Max(1, batchesPerEpoch / Math.Max(1, oo.AccumulateSteps));

    /// <summary>The main run's schedule over <paramref name="epochs"/>: optional linear warm-up, then cosine, flat-cosine or multi-step.</summary>
    public static ScheduleChain MainSchedule(Optimizer opt, ScheduleOptions s, long stepsPerEpoch, int epochs)
    {
        long total = stepsPerEpoch * epochs;
        var segments = new List<LrSchedule>();
        if (s.WarmupIters > 0)
            segments.Add(s.Warmup == WarmupType.Geometric
                ? new GeometricWarmup(s.WarmupRatio, Math.Min(s.WarmupIters, total) + 1)
                : new LinearWarmup(Math.Max(s.WarmupRatio, 1e-12), Math.Min(s.WarmupIters, total) + 1));
        switch (s.Type)
        {
            case LrScheduleType.Cosine:
                segments.Add(new CosineAnnealing(0, total, etaMinRatio: s.EtaMinRatio, byEpoch: false));
                break;
            case LrScheduleType.FlatCosine:
                long begin = (s.CosineBeginEpoch ?? epochs / 2) * stepsPerEpoch;
                segments.Add(new CosineAnnealing(begin, total, etaMinRatio: s.EtaMinRatio, byEpoch: false));
                break;
            case LrScheduleType.MultiStep:
                segments.Add(new MultiStep(s.Milestones.Select(m => s.ByEpoch ? m * stepsPerEpoch : m), s.Gamma, byEpoch: false,
                    spread: s.DecaySpreadEpochs * stepsPerEpoch));
                break;
        }
        return new ScheduleChain(opt, segments, stepsPerEpoch);
    }

    /// <summary>A later phase (self-distillation) gets a plain cosine over its own length.</summary>
    public static ScheduleChain PhaseSchedule(Optimizer opt, ScheduleOptions s, long stepsPerEpoch, int epochs) =>
        new(opt, [new CosineAnnealing(0, stepsPerEpoch * epochs, etaMinRatio: s.EtaMinRatio, byEpoch: false)], stepsPerEpoch);
}
