using Distill.Training.Config;
using Distill.Training.Config.Schema;
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
    IHostApplicationLifetime lifetime) : BackgroundService
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
                using var trainer = new Trainer(options, resolved, request, log, new ProgressLine());
                Result = trainer.Run(stoppingToken);
                log.LogInformation("run finished in {WorkDir}: {Epochs} epochs, {Iterations} iterations, {Ips:F1} img/s, {Wall:F0} s",
                    Result.WorkDir, Result.EpochsDone, Result.Iterations, Result.ImagesPerSecond, Result.WallSeconds);
                Environment.ExitCode = 0;
            }
            catch (Exception e)
            {
                log.LogError("training failed: {Message}", Distill.Cli.ErrorText.Describe(e));
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
