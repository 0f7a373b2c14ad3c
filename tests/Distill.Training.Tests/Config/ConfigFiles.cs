namespace Distill.Training.Tests.Config;

/// <summary>A temporary folder of configuration files, deleted afterwards.</summary>
internal sealed class ConfigFiles : IDisposable
{
    public ConfigFiles()
    {
        Root = Path.Combine(Path.GetTempPath(), "distill-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Writes <paramref name="text"/> (Unix newlines) to a path relative to the folder; returns its full path.</summary>
    public string Write(string relativePath, string text)
    {
        var path = Path.GetFullPath(Path.Combine(Root, relativePath));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.Replace("\r\n", "\n") + "\n");
        return path;
    }

    public string PathOf(string relativePath) => Path.GetFullPath(Path.Combine(Root, relativePath));

    public void Dispose()
    {
        if (Directory.Exists(Root))
            Directory.Delete(Root, recursive: true);
    }
}
