using System.CommandLine;
using Distill.Cli.Bench;

namespace Distill.Cli;

/// <summary>The verbs of the distill command.</summary>
internal static class Verbs
{
    public static IEnumerable<Command> All()
    {
        yield return BenchCommand.Create();
    }
}
