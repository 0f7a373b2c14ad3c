namespace Distill.Pose.Keypoints;

/// <summary>A keypoint-set file that cannot be read or does not describe a consistent set.</summary>
public sealed class KeypointSetException : Exception
{
    /// <summary>The file (or label) that was being read.</summary>
    public string FilePath { get; }

    /// <summary>The YAML key path at fault, e.g. <c>flip_pairs[2]</c>; null when the whole file is at fault.</summary>
    public string? Key { get; }

    public KeypointSetException(string source, string? key, string message, Exception? inner = null)
        : base(key is null ? $"{source}: {message}" : $"{source}: {key}: {message}", inner)
    {
        FilePath = source;
        Key = key;
    }
}
