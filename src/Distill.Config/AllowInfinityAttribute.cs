namespace Distill.Config;

/// <summary>
/// A float key where an infinite value (<c>.inf</c>) means something, such as the order of a p-norm; elsewhere
/// non-finite numbers are refused. NaN is refused everywhere.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AllowInfinityAttribute : Attribute;
