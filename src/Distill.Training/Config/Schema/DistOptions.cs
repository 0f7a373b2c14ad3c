using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

/// <summary>Which collective library a data-parallel run uses.</summary>
public enum DistBackend
{
    /// <summary>NCCL for CUDA devices when libtorch has it, Gloo otherwise.</summary>
    [ConfigName("auto")]
    Auto,

    [ConfigName("gloo")]
    Gloo,

    [ConfigName("nccl")]
    Nccl,
}

/// <summary>
/// Data-parallel training (train.dist), in effect when the run is started by <c>distill train --nproc-per-node</c>
/// or under torchrun's environment. data.batch_size stays the batch of one worker.
/// </summary>
public sealed class DistOptions
{
    public DistBackend Backend { get; set; } = DistBackend.Auto;

    /// <summary>How long a collective may wait for the other workers before the run fails (c10d's own default is 30 minutes).</summary>
    [Range(1, 86400)]
    public int TimeoutS { get; set; } = 300;

    /// <summary>Detect parameters that get no gradient in a step (costs a graph walk per step); otherwise every trained parameter must get one.</summary>
    public bool FindUnusedParameters { get; set; }

    /// <summary>
    /// Linear learning-rate scaling (mmengine's auto_scale_lr): when set, every learning rate is multiplied by
    /// (workers x data.batch_size) / base_batch_size once, before the schedule is built.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int? BaseBatchSize { get; set; }
}
