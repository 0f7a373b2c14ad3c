using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distributed;
using Distill.Training.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Distill.Config;

namespace Distill.Cli.Hosting;

/// <summary>
/// Runs one training job as a hosted service: Ctrl+C or SIGTERM finish the current step, write a checkpoint and end
/// the process with 0; any failure is logged once and ends it with 1.
/// </summary>
public sealed class TrainingService(ExperimentOptions options, ConfigMapping resolved, TrainingRequest request, ILogger<TrainingService> log,
    IHostApplicationLifetime lifetime, WorkerPlacement placement) : BackgroundService
{
    public TrainingResult? Result { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Dispose scopes and inference mode are per thread, so the whole run stays on one dedicated thread.
        var tcs = new TaskCompletionSource();
        var thread = new Thread(() =>
        {
            try
            {
                // A data-parallel worker joins its group first; every worker but rank 0 trains without a progress display.
                using var dist = placement.Environment is { } env
                    ? DistributedContext.Join(env, options.Train.Dist, options.Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase), log)
                    : null;
                using var trainer = new Trainer(options, resolved, request, log, dist is null || dist.IsMain ? new ProgressLine() : null, dist);
                Result = trainer.Run(stoppingToken);
                log.LogInformation("run finished in {WorkDir}: {Epochs} epochs, {Iterations} iterations, {Ips:F1} img/s, {Wall:F0} s",
                    Result.WorkDir, Result.EpochsDone, Result.Iterations, Result.ImagesPerSecond, Result.WallSeconds);
                Environment.ExitCode = 0;
            }
            catch (Exception e)
            {
                log.LogError("{Who}training failed: {Message}", placement.Environment is { } env ? $"rank {env.Rank}: " : "",
                    Distill.Cli.ErrorText.Describe(e));
                Environment.ExitCode = 1;
            }
            finally
            {
                tcs.SetResult();
                lifetime.StopApplication();
            }
        }) { IsBackground = true, Name = "distill-train" };
        thread.Start();
        return tcs.Task;
    }
}

/// <summary>Where this process sits in a data-parallel run, from its environment; null for a plain single-process run.</summary>
public sealed record WorkerPlacement(DistributedEnvironment? Environment);
