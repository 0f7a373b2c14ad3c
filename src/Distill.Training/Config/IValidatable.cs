namespace Distill.Training.Config;

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
/// a whole-object message.
/// </summary>
public readonly record struct ValidationMessage(string? Key, string Message)
{
    public static ValidationMessage For(string key, string message) => new(key, message);

    public static implicit operator ValidationMessage(string message) => new(null, message);
}
