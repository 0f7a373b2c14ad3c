namespace Distill.Training.Logging;

/// <summary>One line of <c>metrics.jsonl</c>.</summary>
/// <param name="WallTime">Seconds since the Unix epoch.</param>
/// <param name="Metrics">Metric name to value; NaN and infinities survive the round trip.</param>
public sealed record MetricsRecord(long Step, int Epoch, double WallTime, IReadOnlyDictionary<string, double> Metrics);
