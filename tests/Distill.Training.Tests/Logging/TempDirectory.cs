namespace Distill.Training.Tests.Logging;

/// <summary>A fresh directory path under the system temp folder (not created), removed with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } =
        System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-logging-" + Guid.NewGuid().ToString("N"));

    public string[] Files() => Directory.Exists(Path) ? Directory.GetFiles(Path) : [];

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
