using System.Collections.Concurrent;

namespace Distill.Pose.Datasets;

/// <summary>An image file that cannot be used, and why.</summary>
public sealed record BadImage(string Path, string Reason);

/// <summary>
/// Checks every image of a dataset before a long run reads them: each exists, is a regular file of a plausible size
/// and (PNG, JPEG) has a readable header within the pixel limit. Nothing is decoded, so it costs one stat and one
/// small read per file, spread over threads; every bad file is found in one pass.
/// </summary>
public static class ImagePreflight
{
    public static IReadOnlyList<BadImage> Check(IEnumerable<string> paths, int threads = 0, long maxPixels = PoseImageLoader.DefaultMaxPixels)
    {
        var distinct = paths.Distinct(StringComparer.Ordinal).ToArray();
        var bad = new ConcurrentBag<(int Index, BadImage Image)>();
        // Mostly waiting on the file system, so more threads than cores pay off on a cold cache.
        int degree = threads > 0 ? threads : Math.Clamp(2 * Environment.ProcessorCount, 4, 16);
        Parallel.For(0, distinct.Length, new ParallelOptions { MaxDegreeOfParallelism = degree }, i =>
        {
            var path = distinct[i];
            try
            {
                PoseImageLoader.Check(path, maxPixels);
            }
            catch (FileNotFoundException)
            {
                bad.Add((i, new BadImage(path, "not found")));
            }
            catch (PoseImageException e)
            {
                bad.Add((i, new BadImage(path, e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                bad.Add((i, new BadImage(path, e.Message)));
            }
        });
        return bad.OrderBy(b => b.Index).Select(b => b.Image).ToList();
    }

    /// <summary>A message listing bad images (the first <paramref name="max"/>, then how many more).</summary>
    public static string Describe(IReadOnlyList<BadImage> bad, int max = 50)
    {
        var lines = bad.Take(max).Select(b => $"  {b.Path}: {b.Reason}");
        var text = string.Join(Environment.NewLine, lines);
        return bad.Count > max ? text + Environment.NewLine + $"  ... and {bad.Count - max} more" : text;
    }
}
