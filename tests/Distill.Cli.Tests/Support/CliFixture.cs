namespace Distill.Cli.Tests.Support;

/// <summary>
/// What every test of the command shares, made once: a scratch folder holding the test configs, a tiny synthetic
/// COCO-format dataset made by `distill synth`, and one uninterrupted `distill train` run of configs/tiny.yaml, the
/// reference the interrupted runs must reproduce and the checkpoint eval, export and predict use.
/// </summary>
public sealed class CliFixture : IDisposable
{
    /// <summary>The synthetic dataset: 40 images, of which 36 train and 4 validate (synth's 90/10 split).</summary>
    public const int SynthImages = 40, TrainImages = 36, ValImages = 4;

    /// <summary>The working directory of every command (configs/ and data/ live here; relative paths start here).</summary>
    public string Root { get; }

    public string ReferenceRun => RunDir("reference");

    public string ReferenceCheckpoint => Path.Combine(ReferenceRun, "last.safetensors");

    /// <summary>Optimizer steps of the whole reference run.</summary>
    public long ReferenceIterations { get; }

    /// <summary>What the reference run printed.</summary>
    public CliResult ReferenceResult { get; }

    public string ValAnnotations => Path.Combine(Root, "data", "coco", "annotations", "person_keypoints_val.json");

    public string ValImagesDir => Path.Combine(Root, "data", "coco", "images", "val");

    public CliFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "distill-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(Root, "configs"));
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "configs"), "*.yaml"))
            File.Copy(f, Path.Combine(Root, "configs", Path.GetFileName(f)));

        var synth = Run("synth", "--out", "data", "--coco", SynthImages.ToString(), "--seed", "1");
        if (synth.ExitCode != 0) throw new InvalidOperationException("synth failed:\n" + synth);
        ReferenceResult = Run("train", "configs/tiny.yaml", "--work-dir", ReferenceRun);
        if (ReferenceResult.ExitCode != 0 || !File.Exists(ReferenceCheckpoint))
            throw new InvalidOperationException("the reference training run failed:\n" + ReferenceResult);
        ReferenceIterations = CheckpointFiles.State(ReferenceCheckpoint).Iteration;
    }

    public string RunDir(string name) => Path.Combine(Root, "runs", name);

    /// <summary>A fresh folder below the root for one test's outputs.</summary>
    public string NewDir(string name)
    {
        var dir = Path.Combine(Root, "out", name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public CliResult Run(params string[] args) => DistillCli.Run(Root, args);

    public CliRun Start(params string[] args) => DistillCli.Start(Root, args);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliFixture>
{
    /// <summary>One collection: its tests share the fixture and run one after another (the machine has few cores).</summary>
    public const string Name = "distill command";
}
