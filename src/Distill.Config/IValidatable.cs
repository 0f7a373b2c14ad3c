namespace Distill.Config;

/// <summary>
/// Checks an options class makes across its own keys (or against its children), run by the binder after the
/// class's keys are bound. Each message is reported at the node of the key it names.
/// </summary>
public interface IValidatable
{
    IEnumerable<ValidationMessage> Validate();
}

/// <summary>
/// A validation failure. <see cref="Key"/> is the snake_case key (or dotted key path, list items by index) the
/// message is about, relative to the validated object; null means the object as a whole. A plain string converts to
/// a whole-object message. The message is dropped when <see cref="Key"/>, or one of the keys in
/// <see cref="DependsOn"/>, already failed to bind: the check then ran on a default and would only mislead.
/// </summary>
public readonly record struct ValidationMessage(string? Key, string Message)
{
    /// <summary>Other keys (relative paths) the check read.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    public static ValidationMessage For(string key, string message, params string[] dependsOn) =>
        new(key, message) { DependsOn = dependsOn };

    public static implicit operator ValidationMessage(string message) => new(null, message);
}
