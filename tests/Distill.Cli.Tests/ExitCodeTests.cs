using Distill.Cli.Tests.Support;

namespace Distill.Cli.Tests;

/// <summary>
/// Bad input ends the command with a non-zero exit code and one clear message naming the file and key (or path),
/// never a stack trace or an exception type dump.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ExitCodeTests(CliFixture f)
{
    /// <summary>The one output line naming <paramref name="subject"/>; it must hold every fragment and nothing may look like a stack trace.</summary>
    private static string AssertOneClearMessage(CliResult r, string subject, params string[] fragments)
    {
        Assert.True(r.ExitCode != 0, r.ToString());
        var lines = r.StdOut.Concat(r.StdErr).ToList();
        var naming = lines.Where(l => l.Contains(subject, StringComparison.Ordinal)).ToList();
        Assert.True(naming.Count == 1, $"expected one line naming '{subject}':\n{r}");
        foreach (var fragment in fragments) Assert.Contains(fragment, naming[0]);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) && l.StartsWith("   ", StringComparison.Ordinal));
        Assert.DoesNotContain("Exception:", r.Output);
        Assert.DoesNotContain("Exception (", r.Output);
        return naming[0];
    }

    [Fact]
    public void AnUnknownConfigKeyIsNamedWithItsFileAndLine()
    {
        var r = f.Run("train", "configs/unknown_key.yaml", "--work-dir", f.RunDir("unknown_key"));
        // "configs/unknown_key.yaml:3:9: train.max_epoch: unknown key (did you mean 'max_epochs'?)"
        AssertOneClearMessage(r, "unknown_key.yaml:3:", "train.max_epoch", "unknown key", "max_epochs");
        Assert.False(Directory.Exists(f.RunDir("unknown_key")), "a config error must stop the run before it creates its directory");
    }

    [Fact]
    public void ABadConfigValueIsNamedWithItsKeyAndValue()
    {
        var r = f.Run("train", "configs/bad_value.yaml", "--work-dir", f.RunDir("bad_value"));
        AssertOneClearMessage(r, "bad_value.yaml:4:", "optimizer.lr", "'fast'");
    }

    [Fact]
    public void AnOutOfRangeOverrideIsNamed()
    {
        var r = f.Run("train", "configs/tiny.yaml", "--set", "train.max_epochs=-2", "--work-dir", f.RunDir("bad_override"));
        AssertOneClearMessage(r, "train.max_epochs", "-2", "out of range");
    }

    [Fact]
    public void AMissingAnnotationFileIsNamed()
    {
        var r = f.Run("train", "configs/missing_annotations.yaml", "--work-dir", f.RunDir("missing_annotations"));
        var line = AssertOneClearMessage(r, "no_such_file.json", "annotation file not found", "'coco'");
        Assert.Contains(Path.Combine(f.Root, "data", "coco", "annotations", "no_such_file.json"), line);
    }

    [Fact]
    public void EvalOfAMissingCheckpointIsNamed()
    {
        var r = f.Run("eval", "configs/tiny.yaml", "--checkpoint", "runs/none/last.safetensors");
        AssertOneClearMessage(r, "runs/none/last.safetensors");
    }

    [Fact]
    public void ReportOfAMissingFolderIsNamed()
    {
        var r = f.Run("report", "no_such_runs");
        AssertOneClearMessage(r, "no_such_runs", "no such folder");
    }
}
