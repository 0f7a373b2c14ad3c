namespace Distill.Config;

/// <summary>
/// Gives a property or enum member a configuration name other than the snake_case form of its C# name
/// (for example <c>dwpose</c> for <c>KDReduction.DWPose</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false)]
public sealed class ConfigNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
