namespace Distill.Pose.Data;

/// <summary>A sample or batch failed on a loader thread; the message names the sample (id and image).</summary>
public sealed class DataLoaderException : Exception
{
    public DataLoaderException(string message, Exception? innerException, int epoch, int? sampleIndex, int batchIndex)
        : base(message, innerException)
    {
        Epoch = epoch;
        SampleIndex = sampleIndex;
        BatchIndex = batchIndex;
    }

    public int Epoch { get; }

    /// <summary>The failing sample's dataset index; null when collation failed.</summary>
    public int? SampleIndex { get; }

    public int BatchIndex { get; }
}
