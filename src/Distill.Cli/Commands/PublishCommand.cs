using System.CommandLine;
using System.Security.Cryptography;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch.Serialization;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill publish CKPT --out FILE`: the model weights of a checkpoint alone (the EMA's when it has one), as a plain
/// safetensors state dict with backbone./head. names: no optimizer state, RNG or config, so a teacher ships at a
/// third of a training checkpoint's size. Prints the file's SHA-256 for the teacher manifest.
/// </summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A Distill training checkpoint or any checkpoint `eval` reads." };
        var output = new Option<string>("--out") { Description = "The weights file to write (.safetensors).", Required = true };
        var cmd = new Command("publish", "Write a checkpoint's model weights alone (for shipping a teacher) and print their sha256.") { checkpoint, output };
        cmd.SetAction(r =>
        {
            var dest = r.GetValue(output)!;
            var sha = Publish(r.GetValue(checkpoint)!, dest);
            Console.WriteLine($"publish: {dest} ({new FileInfo(dest).Length / 1024} KB) sha256 {sha}");
            return 0;
        });
        return cmd;
    }

    /// <summary>Writes the weights of <paramref name="checkpoint"/> to <paramref name="dest"/>; returns the new file's SHA-256.</summary>
    public static string Publish(string checkpoint, string dest)
    {
        var sd = WeightsLoader.Load(Path.GetFullPath(checkpoint));
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(dest));
            if (dir is not null) Directory.CreateDirectory(dir);
            SafeTensors.Save(dest, sd);
        }
        finally
        {
            foreach (var t in sd.Values) t.Dispose();
        }
        using var fs = File.OpenRead(dest);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }
}
