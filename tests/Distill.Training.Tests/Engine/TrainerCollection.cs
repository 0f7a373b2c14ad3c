namespace Distill.Training.Tests.Engine;

/// <summary>
/// Trainer runs seed libtorch's process-wide generator and set its thread count, so two runs in one process must not
/// overlap: a model built while another run draws random numbers would start from different weights.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainerCollection
{
    public const string Name = "trainer runs";
}
