using System.CommandLine;

namespace Distill.Cli.Commands;

/// <summary>Options several verbs share.</summary>
internal static class CommonOptions
{
    public static Option<string[]> Set() => new("--set")
    {
        Description = "Override a config value: path.to.key=value (repeatable).",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Argument<string> Config() => new("config") { Description = "Experiment, model or teacher YAML file." };

    public static Option<string> Checkpoint(bool required) => new("--checkpoint")
    {
        Description = "Weights: a Distill checkpoint (EMA weights when present) or an official mmpose .pth.",
        Required = required,
    };
}
