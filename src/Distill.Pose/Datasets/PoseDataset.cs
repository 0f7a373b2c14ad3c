using System.Collections;
using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>
/// A list of person instances in one keypoint order, with the image list evaluation needs and the report of
/// what was skipped while loading.
/// </summary>
public abstract class PoseDataset : IReadOnlyList<PoseInstance>
{
    /// <summary>Source name stamped on instances, e.g. <c>coco</c>.</summary>
    public abstract string Name { get; }

    public abstract KeypointSet KeypointSet { get; }

    public abstract int Count { get; }

    public abstract PoseInstance this[int index] { get; }

    /// <summary>Every image listed by the annotation file (not only those with instances).</summary>
    public abstract IReadOnlyList<ImageInfo> Images { get; }

    public abstract LoadReport Report { get; }

    /// <summary>
    /// Image files that instances refer to but that do not exist, by path, each once, in first-use order.
    /// Loading does not touch image files; call this to find gaps before a long run.
    /// </summary>
    public virtual IReadOnlyList<string> ValidateImages()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        for (int i = 0; i < Count; i++)
        {
            string path = this[i].ImagePath;
            if (seen.Add(path) && !File.Exists(path)) missing.Add(path);
        }
        return missing;
    }

    public IEnumerator<PoseInstance> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
