using System.Diagnostics;

namespace Distill.Bench;

/// <summary>Timing helpers shared by the suites.</summary>
internal static class Timing
{
    /// <summary>Lets idle OpenMP workers of the side that just ran go to sleep before the other side is timed.</summary>
    internal static void Settle() => Thread.Sleep(100);

    internal static double Median(int n, Action a)
    {
        var t = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            a();
            t.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return Median(t);
    }

    internal static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
