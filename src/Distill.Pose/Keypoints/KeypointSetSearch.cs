namespace Distill.Pose.Keypoints;

/// <summary>Where <see cref="KeypointSet.FromName"/> looks for <c>{name}.yaml</c>, in order.</summary>
internal static class KeypointSetSearch
{
    public static IEnumerable<string> Directories(string? configured)
    {
        if (!string.IsNullOrEmpty(configured)) yield return configured;

        // Installed tools: the build copies configs/keypoints/*.yaml to keypoints/ next to Distill.Pose.dll.
        string baseDir = AppContext.BaseDirectory;
        yield return Path.Combine(baseDir, "keypoints");

        // Running from a source checkout: the repository's configs/keypoints above the build output.
        for (var dir = new DirectoryInfo(baseDir); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "configs", "keypoints");
            if (Directory.Exists(candidate))
            {
                yield return candidate;
                yield break;
            }
        }
    }
}
