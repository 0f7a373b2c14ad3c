namespace Distill.Bench;

/// <summary>
/// A measurement's entries (seconds) summarised: the median, the fastest entry (other work on a shared machine only
/// ever adds time, so the best entry is the least disturbed one), and the spread, (max - min) / median, which shows
/// how much the machine disturbed the runs so a ratio can be read against it.
/// </summary>
internal readonly record struct Sample(double Median, double Best, double Spread)
{
    public static readonly Sample None = new(double.NaN, double.NaN, double.NaN);

    public static Sample Of(List<double> entries)
    {
        double m = Timing.Median(entries);
        return new Sample(m, entries.Min(), entries.Count > 1 ? (entries.Max() - entries.Min()) / m : double.NaN);
    }
}
