namespace Distill.Torch.Serialization;

/// <summary>
/// A checkpoint file that cannot be read: truncated, malformed, hostile, or in a layout Distill does not support.
/// The message names the file and, where there is one, the tensor or entry at fault.
/// </summary>
public class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string filePath, string message, Exception? inner = null)
        : base($"{filePath}: {message}", inner)
    {
        FilePath = filePath;
    }

    /// <summary>The file that was being read or written.</summary>
    public string FilePath { get; }
}
