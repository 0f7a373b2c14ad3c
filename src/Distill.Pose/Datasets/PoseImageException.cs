namespace Distill.Pose.Datasets;

/// <summary>An image file that is refused (too large, corrupt header) or cannot be decoded; names the file.</summary>
public sealed class PoseImageException : IOException
{
    public string FilePath { get; }

    public PoseImageException(string filePath, string message, Exception? inner = null)
        : base($"{filePath}: {message}", inner) => FilePath = filePath;
}
