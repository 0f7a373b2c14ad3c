namespace Distill.Training.Engine;

/// <summary>How the loop runs: plain values mapped once from the experiment's train, optimizer, evaluation and logging sections.</summary>
public sealed record TrainerSettings
{
    public int MaxEpochs { get; init; } = 1;

    /// <summary>Validate every this many epochs of a stage (and at its end).</summary>
    public int ValInterval { get; init; } = 1;

    /// <summary>Log scalars every this many optimizer steps (and at each epoch's last batch).</summary>
    public int LogInterval { get; init; } = 1;

    /// <summary>Batches whose gradients add up before one optimizer step.</summary>
    public int AccumulateSteps { get; init; } = 1;

    /// <summary>Clip the gradients' p-norm (<see cref="ClipNormType"/>) to this before each step; null logs the norm only.</summary>
    public double? ClipMaxNorm { get; init; }

    /// <summary>Clamp every gradient element to +-this before the norm is taken; null leaves them.</summary>
    public double? ClipValue { get; init; }

    public double ClipNormType { get; init; } = 2.0;

    /// <summary>Epochs of head-only self-distillation after the main run; 0 for none.</summary>
    public int SelfDistillEpochs { get; init; }

    /// <summary>Epochs between histograms within a stage (its last epoch always logs).</summary>
    public int HistogramInterval { get; init; } = 1;

    /// <summary>The validation metric that picks best.safetensors, and whether greater is better.</summary>
    public string BestMetric { get; init; } = "coco/AP";

    public bool GreaterIsBetter { get; init; } = true;

    /// <summary>Average with the horizontally flipped crop at validation.</summary>
    public bool FlipTest { get; init; }

    /// <summary>The metric families validation computes.</summary>
    public IReadOnlyList<Config.Schema.MetricFamily> Metrics { get; init; } = Config.Schema.EvaluationOptions.DefaultMetrics;

    public int ValBatchSize { get; init; } = 32;

    public int ValWorkers { get; init; } = 1;

    /// <summary>The epoch after the whole run, self-distillation included.</summary>
    public int RunEndEpoch => MaxEpochs + SelfDistillEpochs;

    /// <summary>The autocast dtype of training forwards (BFloat16 or Float16); null trains in float32.</summary>
    public Torch.DType? Autocast { get; init; }
}
