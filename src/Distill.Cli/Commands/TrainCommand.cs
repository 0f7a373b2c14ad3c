using System.CommandLine;
using Distill.Cli.Hosting;
using Distill.Training.Config;
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
        var cmd = new Command("train", "Train a model (supervised, or distilled from the config's teachers).") { config, set, workDir, resume };
        cmd.SetAction(r =>
        {
            string? resumeValue = r.GetResult(resume) is null ? null : r.GetValue(resume) ?? "";
            return Run(new TrainingRequest
            {
                ConfigPath = r.GetValue(config)!,
                Overrides = r.GetValue(set) ?? [],
                WorkDir = r.GetValue(workDir),
                Resume = resumeValue,
            });
        });
        return cmd;
    }

    public static int Run(TrainingRequest request)
    {
        // Strict binding reports every config error at once, before anything starts.
        var options = ExperimentConfig.Load(request.ConfigPath, request.Overrides, out var resolved);
        var workDir = Path.GetFullPath(request.WorkDir ?? options.WorkDir ?? Path.Combine("experiments", options.Name ?? "run"));
        // The lock comes before train.log is opened: a run refused because another one holds the directory must not
        // write into that run's log.
        using var run = RunDirectory.Open(workDir);
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(workDir, "train.log")));
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromMinutes(10));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(resolved);
        builder.Services.AddSingleton(request with { WorkDir = workDir, LockedRun = run });
        builder.Services.AddHostedService<TrainingService>();
        using var host = builder.Build();
        host.Run();
        return Environment.ExitCode;
    }
}
