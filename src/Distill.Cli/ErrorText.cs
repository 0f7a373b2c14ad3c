namespace Distill.Cli;

internal static class ErrorText
{
    /// <summary>The message of an exception and of its causes, without stack traces.</summary>
    public static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is AggregateException { InnerExceptions.Count: > 0 } agg && agg.InnerException is not null) continue;
            if (parts.Count == 0 || !parts[^1].Contains(x.Message, StringComparison.Ordinal)) parts.Add(x.Message);
        }
        return string.Join(": ", parts);
    }
}
