using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>Experiment keys that act through the trainer: deterministic and ema.update_buffers.</summary>
[Collection(TrainerCollection.Name)]
public sealed class ExperimentSettingsTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 4);

    public void Dispose()
    {
        torch.UseDeterministicAlgorithms(false);
        _run.Dispose();
    }

    [Fact]
    public void DeterministicTurnsLibtorchsDeterministicAlgorithmsOnForTheRunAndOffForTheNext()
    {
        var config = _run.Config("det", "{max_epochs: 1, val_interval: 1}");
        using (_run.Trainer(config, set: ["deterministic=true"]))
            Assert.True(torch.AreDeterministicAlgorithmsEnabled());
        using (_run.Trainer(config))
            Assert.False(torch.AreDeterministicAlgorithmsEnabled());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EmaAveragesBatchNormStatisticsOrCopiesThem(bool updateBuffers)
    {
        var config = _run.Config($"ema-{updateBuffers}", "{max_epochs: 1, val_interval: 1}",
            $"ema: {{enabled: true, update_buffers: {(updateBuffers ? "true" : "false")}}}");
        using var trainer = _run.Trainer(config);
        using var stop = new CancellationTokenSource();
        int steps = 0;
        bool buffersEqual = true, parametersEqual = true;
        trainer.AfterStep = (_, _, _) =>
        {
            // The first update copies everything in either mode; the second averages.
            if (++steps < 2) return;
            var nets = trainer.Networks.ToDictionary(n => n.Role, n => n.Network);
            buffersEqual = Same(nets["student"].NamedBuffers(), nets["ema"].NamedBuffers());
            parametersEqual = Same(nets["student"].NamedParameters(), nets["ema"].NamedParameters());
            stop.Cancel();
        };
        trainer.Run(stop.Token);
        Assert.Equal(2, steps);
        // Parameters are averaged either way; BN statistics follow the model exactly only when they are copied.
        Assert.False(parametersEqual);
        Assert.Equal(!updateBuffers, buffersEqual);
    }

    private static bool Same(IEnumerable<(string Name, Tensor Value)> a, IEnumerable<(string Name, Tensor Value)> b)
    {
        var right = b.ToDictionary(x => x.Name, x => x.Value);
        foreach (var (name, t) in a)
        {
            using var x = t.To(DType.Float64, Device.Cpu);
            using var y = right[name].To(DType.Float64, Device.Cpu);
            if (!x.ToArray<double>().SequenceEqual(y.ToArray<double>())) return false;
        }
        return true;
    }
}
