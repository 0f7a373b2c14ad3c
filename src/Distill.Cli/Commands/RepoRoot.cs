namespace Distill.Cli.Commands;

internal static class RepoRoot
{
    /// <summary>The directory holding Distill.sln above the tool or the working directory (teachers/ and configs/ live there).</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.sln"))) return d.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
