using Distill.Training.Engine;
using Spectre.Console;

namespace Distill.Cli.Hosting;

/// <summary>
/// A one-line progress bar (epoch, step, ETA, img/s, losses) redrawn in place when the console is a terminal.
/// When output is redirected it draws nothing and the trainer's periodic log lines carry the same information.
/// </summary>
public sealed class ProgressLine : ITrainingProgress
{
    private readonly bool _enabled;
    private long _lastDraw;

    public ProgressLine() =>
        _enabled = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Ansi
            && Environment.GetEnvironmentVariable("DISTILL_PLAIN_LOG") is null;

    public bool ShowsSteps => _enabled;

    public void Report(StepProgress p)
    {
        if (!_enabled) return;
        long now = Environment.TickCount64;
        if (now - _lastDraw < 200 && p.Step != p.Steps) return; // at most five redraws a second
        _lastDraw = now;
        AnsiConsole.Markup("\r\u001b[2K" + Format(p));
        if (p.Step == p.Steps) AnsiConsole.WriteLine();
    }

    public void ReportValidation(ValidationProgress p)
    {
        if (!_enabled) return;
        long now = Environment.TickCount64;
        if (now - _lastDraw < 200 && p.Done != p.Total) return;
        _lastDraw = now;
        AnsiConsole.Markup("\r\u001b[2K" + Format(p));
        if (p.Done == p.Total) AnsiConsole.WriteLine();
    }

    /// <summary>The validation line as Spectre markup: epoch, source, bar and instances predicted.</summary>
    public static string Format(ValidationProgress p)
    {
        const int width = 24;
        int filled = p.Total == 0 ? 0 : (int)Math.Round(width * (double)p.Done / p.Total);
        var bar = new string('━', filled) + new string('─', width - filled);
        return $"validation epoch {p.Epoch} {Markup.Escape(p.Source)} [blue]{bar}[/] {p.Done}/{p.Total}";
    }

    /// <summary>The line as Spectre markup: bar, position, ETA, speed and the loss terms.</summary>
    public static string Format(StepProgress p)
    {
        const int width = 24;
        int filled = p.Steps == 0 ? 0 : (int)Math.Round(width * (double)p.Step / p.Steps);
        var bar = new string('━', filled) + new string('─', width - filled);
        var loss = string.Join(" ", p.Values.Where(kv => kv.Key.StartsWith("loss", StringComparison.Ordinal)).Select(kv => $"{kv.Key} {kv.Value:F4}"));
        return $"epoch {p.Epoch}/{p.Epochs} [green]{bar}[/] {p.Step}/{p.Steps} eta {p.Eta:hh\\:mm\\:ss} {p.ImagesPerSecond:F1} img/s {Markup.Escape(loss)}";
    }
}
