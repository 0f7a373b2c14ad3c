namespace Distill.TestSupport;

/// <summary>
/// Locates the shared fixtures and sample data: <c>DISTILL_TEST_DATA</c>, or <c>../shared</c> next to the
/// repository. Tests that need them fail loudly when they are missing rather than skipping.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string> RootPath = new(Locate);

    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Fixture(params string[] parts) => System.IO.Path.Combine([Root, "fixtures", .. parts]);

    public static string Data(params string[] parts) => System.IO.Path.Combine([Root, "data", .. parts]);

    /// <summary>The repository root (the directory holding Distill.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Distill.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("cannot find Distill.sln above " + AppContext.BaseDirectory);
        }
    }

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("DISTILL_TEST_DATA");
        var root = string.IsNullOrEmpty(env) ? System.IO.Path.Combine(RepoRoot, "..", "shared") : env;
        root = System.IO.Path.GetFullPath(root);
        if (!Directory.Exists(System.IO.Path.Combine(root, "fixtures")) || !Directory.Exists(System.IO.Path.Combine(root, "data")))
            throw new DirectoryNotFoundException(
                $"Shared test data not found at '{root}' (expected fixtures/ and data/). Set DISTILL_TEST_DATA to the folder that holds them.");
        return root;
    }
}
