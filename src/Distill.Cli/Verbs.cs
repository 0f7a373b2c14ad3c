using System.CommandLine;

namespace Distill.Cli;

/// <summary>The verbs of the distill command.</summary>
internal static class Verbs
{
    public static IEnumerable<Command> All()
    {
        yield break;
    }
}
