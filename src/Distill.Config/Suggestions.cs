namespace Distill.Config;

/// <summary>"Did you mean" candidates by optimal-string-alignment distance (an adjacent swap costs one edit).</summary>
public static class Suggestions
{
    /// <summary>
    /// The closest candidate when it is near enough to be a typo: equal ignoring case, or at most one edit per three
    /// characters of the longer word (and always at least one). Ties go to the earlier candidate.
    /// </summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            if (candidate == input)
                continue;
            var distance = string.Equals(candidate, input, StringComparison.OrdinalIgnoreCase)
                ? 0
                : Distance(input.ToLowerInvariant(), candidate.ToLowerInvariant());
            var limit = Math.Max(1, Math.Max(input.Length, candidate.Length) / 3);
            if (distance <= limit && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
