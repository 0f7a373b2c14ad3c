namespace Distill.Torch.Interop;

internal static partial class Native
{
    // libtorch starts with a single intra-op thread on some builds; Distill's default is every core. Callers
    // (config, benchmarks) override it through torch.NumThreads.
    static Native()
    {
        distill_set_num_threads(Math.Max(1, Environment.ProcessorCount));
    }
}
