using System.CommandLine;
using Distill.Cli.Hosting;
using Distill.Training.Config;
using Distill.Training.Distributed;
using Distill.Training.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distill.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var set = CommonOptions.Set();
        var workDir = new Option<string?>("--work-dir") { Description = "Run directory (default: the config's work_dir, which defaults to experiments/<name>)." };
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue a run: from CKPT, or from the run directory's last checkpoint when no path is given.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var launch = new LaunchOptionSet();
        var cmd = new Command("train", "Train a model (supervised, or distilled from the config's teachers). " +
            "With --nproc-per-node N it trains data-parallel: N worker processes on this machine, each with data.batch_size " +
            "samples per step (global batch N x nodes x data.batch_size), gradients averaged over all workers; " +
            "--nnodes/--node-rank/--master-addr/--master-port join several machines (run the same command on each, " +
            "with its own --node-rank). Workers started by torchrun (RANK, WORLD_SIZE, ... set) join their group directly.")
            { config, set, workDir, resume };
        launch.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string? resumeValue = r.GetResult(resume) is null ? null : r.GetValue(resume) ?? "";
            var request = new TrainingRequest
            {
                ConfigPath = r.GetValue(config)!,
                Overrides = r.GetValue(set) ?? [],
                WorkDir = r.GetValue(workDir),
                Resume = resumeValue,
            };
            if (launch.Requested(r) is { } plan) return Launcher.Run(plan, request);
            return Run(request);
        });
        return cmd;
    }

    public static int Run(TrainingRequest request)
    {
        // Strict binding reports every config error at once, before anything starts.
        var options = ExperimentConfig.Load(request.ConfigPath, request.Overrides, out var resolved);
        // A data-parallel worker (started by the launcher or torchrun): rank 0 alone logs to the console and train.log.
        var env = DistributedEnvironment.FromEnvironment();
        bool main = env is null || env.Rank == 0;
        var workDir = Path.GetFullPath(request.WorkDir ?? options.WorkDir ?? Path.Combine("experiments", options.Name ?? "run"));
        // The lock comes before train.log is opened: a run refused because another one holds the directory must not
        // write into that run's log.
        // Rank 0 alone locks and writes the directory; the other workers of a data-parallel run only read it.
        using var run = main ? RunDirectory.Open(workDir) : RunDirectory.Unlocked(workDir);
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        if (main) builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(workDir, "train.log")));
        else builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromMinutes(10));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(resolved);
        builder.Services.AddSingleton(request with { WorkDir = workDir, LockedRun = run });
        builder.Services.AddSingleton(new WorkerPlacement(env));
        builder.Services.AddHostedService<TrainingService>();
        using var host = builder.Build();
        host.Run();
        return Environment.ExitCode;
    }
}
