using Distill.Pose.Datasets.Json;

namespace Distill.Pose.Datasets;

/// <summary>Image names of annotation files resolved against the source's image folder, which they must not leave.</summary>
internal static class ImagePaths
{
    /// <summary>
    /// The full path of <paramref name="name"/> under <paramref name="imageRoot"/>. An absolute name, or one whose
    /// <c>..</c> parts climb out of the folder, is refused unless <paramref name="allowOutsideRoot"/>: an annotation
    /// file should not make training read arbitrary files.
    /// </summary>
    public static string Resolve(JsonRecord record, string key, string imageRoot, string name, bool allowOutsideRoot) =>
        Resolve(imageRoot, name, allowOutsideRoot, detail => record.Error(key, detail));

    /// <summary>The same check for records that are not JSON (the MPII release): <paramref name="record"/> labels the error.</summary>
    public static string Resolve(string file, string record, string imageRoot, string name, bool allowOutsideRoot) =>
        Resolve(imageRoot, name, allowOutsideRoot, detail => new DatasetException(file, record, null, "image.name", detail));

    private static string Resolve(string imageRoot, string name, bool allowOutsideRoot, Func<string, DatasetException> error)
    {
        var root = Path.GetFullPath(imageRoot);
        var full = Path.GetFullPath(Path.Combine(root, name));
        if (allowOutsideRoot) return full;
        var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
            throw error($"'{name}' resolves to {full}, outside the image folder {root}; " +
                "set allow_outside_root: true on the data source if that is intended");
        return full;
    }
}
