namespace Distill.Training.Tests.Distributed;

/// <summary>train.dist.find_unused_parameters through the launcher.</summary>
[Collection(DataParallelCollection.Name)]
public sealed class FindUnusedParametersTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private readonly DataParallelRun _run = new();

    [Fact]
    public void Searching_for_unused_parameters_trains_the_same_weights()
    {
        // Every parameter of this student gets a gradient each step, so the graph search the option adds finds none
        // unused and the gradients, hence the weights, are the plain run's.
        var plain = _run.Config("plain");
        var search = _run.Config("search", "{max_epochs: 1, val_interval: 1, log_interval: 1, dist: {find_unused_parameters: true}}");
        string port = DataParallelRun.FreePort().ToString();
        var (c1, o1) = DataParallelRun.Run(Limit, "train", plain, "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = DataParallelRun.Run(Limit, "train", search, "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c2 == 0, o2);
        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("plain"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("search"), "last.safetensors")));
        Assert.True(diff == 0, $"max weight difference {diff}");
    }

    public void Dispose() => _run.Dispose();
}
