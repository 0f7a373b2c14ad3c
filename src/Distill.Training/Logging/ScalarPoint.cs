namespace Distill.Training.Logging;

/// <summary>One scalar read from an event file.</summary>
/// <param name="WallTime">Seconds since the Unix epoch.</param>
public readonly record struct ScalarPoint(string Tag, long Step, float Value, double WallTime);
