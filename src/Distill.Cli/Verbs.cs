using System.CommandLine;
using Distill.Cli.Commands;

namespace Distill.Cli;

/// <summary>The verbs of the distill command.</summary>
internal static class Verbs
{
    public static IEnumerable<Command> All()
    {
        yield return TrainCommand.Create();
        yield return EvalCommand.Create();
        yield return DemoCommand.Create();
        yield return SynthCommand.Create();
        yield return ExportCommand.Create();
        yield return PredictCommand.Create();
        yield return ReportCommand.Create();
        yield return KdReportCommand.Create();
        yield return PublishCommand.Create();
        yield return BenchCommand.Create();
    }
}
