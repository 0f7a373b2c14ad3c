namespace Distill.Config;

/// <summary>
/// Marks a key an options class used to accept under another name: binding it reports the new name instead of a
/// plain "unknown key", so an old config fails with the fix in the message.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class ConfigRenamedAttribute(string oldName, string newName, string reason) : Attribute
{
    public string OldName { get; } = oldName;
    public string NewName { get; } = newName;
    public string Reason { get; } = reason;
}
