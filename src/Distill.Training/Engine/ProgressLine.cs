using Spectre.Console;

namespace Distill.Training.Engine;

/// <summary>
/// A one-line progress bar (epoch, step, ETA, img/s, losses) redrawn in place when the console is a terminal.
/// When output is redirected it draws nothing and the trainer's periodic log lines carry the same information.
/// </summary>
public sealed class ProgressLine
{
    private readonly bool _enabled;
    private long _lastDraw;

    public ProgressLine() =>
        _enabled = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Ansi
            && Environment.GetEnvironmentVariable("DISTILL_PLAIN_LOG") is null;

    public bool Enabled => _enabled;

    public void Update(int epoch, int maxEpochs, int step, int steps, TimeSpan eta, double imagesPerSecond, IReadOnlyDictionary<string, double> losses)
    {
        if (!_enabled) return;
        long now = Environment.TickCount64;
        if (now - _lastDraw < 200 && step != steps) return; // at most five redraws a second
        _lastDraw = now;
        const int width = 24;
        int filled = steps == 0 ? 0 : (int)Math.Round(width * (double)step / steps);
        var bar = new string('━', filled) + new string('─', width - filled);
        var loss = string.Join(" ", losses.Where(kv => kv.Key.StartsWith("loss", StringComparison.Ordinal)).Select(kv => $"{kv.Key} {kv.Value:F4}"));
        var text = $"epoch {epoch}/{maxEpochs} [green]{bar}[/] {step}/{steps} eta {eta:hh\\:mm\\:ss} {imagesPerSecond:F1} img/s {Markup.Escape(loss)}";
        AnsiConsole.Markup("\r\u001b[2K" + text);
        if (step == steps) AnsiConsole.WriteLine();
    }
}
