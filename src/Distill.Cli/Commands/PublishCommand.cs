using System.CommandLine;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Models.Options;
using Distill.Torch.Serialization;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill publish CKPT --out FILE`: the model weights of a checkpoint alone (the EMA's when it has one), as a plain
/// safetensors state dict with backbone./head. names: no optimizer state, RNG or config, and none of the weights the
/// model's forward never uses (such as CSPNeXt stages after the last output index), so a teacher ships at a fraction
/// of a training checkpoint's size. Prints the sizes and the file's SHA-256 for the teacher manifest.
/// </summary>
internal static class PublishCommand
{
    /// <summary>The run's resolved configuration, written beside its checkpoints.</summary>
    private const string RunConfig = "config.yaml";

    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A Distill training checkpoint or any checkpoint `eval` reads." };
        var output = new Option<string>("--out") { Description = "The weights file to write (.safetensors).", Required = true };
        var config = new Option<string?>("--config", "-c")
        {
            Description = "The checkpoint's model (a model, teacher or experiment config). Default: the configuration a Distill checkpoint " +
                          "stores, else config.yaml beside it. Without one, every weight is kept.",
        };
        var cmd = new Command("publish", "Write a checkpoint's model weights alone, without those its forward never uses (for shipping a teacher), and print their sha256.")
        {
            checkpoint, output, config,
        };
        cmd.SetAction(r =>
        {
            var dest = r.GetValue(output)!;
            var report = Publish(r.GetValue(checkpoint)!, dest, r.GetValue(config));
            Print(report);
            return 0;
        });
        return cmd;
    }

    /// <summary>Writes the weights of <paramref name="checkpoint"/> to <paramref name="dest"/>; returns the new file's SHA-256.</summary>
    public static string Publish(string checkpoint, string dest) => Publish(checkpoint, dest, null).Sha256;

    public static PublishReport Publish(string checkpoint, string dest, string? configPath) =>
        WeightsPublisher.Publish(checkpoint, dest, ModelOf(Path.GetFullPath(checkpoint), configPath));

    internal static void Print(PublishReport report)
    {
        if (report.Note is not null) Console.Error.WriteLine($"publish: {report.Note}");
        if (report.Omitted.Count > 0)
            Console.WriteLine($"publish: left out {string.Join(", ", report.Omitted)} " +
                (report.LeftOut > 0 ? $"({report.LeftOut} tensors)" : "(already absent from the checkpoint)") + ": the model's forward never uses them");
        Console.WriteLine($"publish: {report.Path} ({report.BytesAfter / 1024} KB; the checkpoint's weights are {report.BytesBefore / 1024} KB) sha256 {report.Sha256}");
    }

    /// <summary>
    /// The checkpoint's model: --config, else the resolved configuration a Distill checkpoint stores (exactly what the
    /// run trained), else the run's config.yaml beside the checkpoint; null when there is none.
    /// </summary>
    private static ModelOptions? ModelOf(string checkpoint, string? configPath)
    {
        if (configPath is not null) return ModelConfig.Load(configPath);
        if (StoredConfig(checkpoint) is { } yaml) return ModelConfig.Parse(yaml, $"{checkpoint} (stored config)");
        var beside = Path.Combine(Path.GetDirectoryName(checkpoint)!, RunConfig);
        return File.Exists(beside) ? ModelConfig.Load(beside) : null;
    }

    private static string? StoredConfig(string checkpoint)
    {
        try
        {
            return SafeTensors.ReadHeader(checkpoint).Metadata.GetValueOrDefault("config");
        }
        catch (CheckpointFormatException)
        {
            return null; // not safetensors (an mmpose .pth): it stores no Distill config
        }
    }
}
