using System.Reflection;
using System.Text;

namespace Distill.Config;

/// <summary>The naming rule between YAML keys and C# members.</summary>
public static class ConfigNames
{
    /// <summary>
    /// PascalCase to snake_case: a word starts at an upper-case letter after a lower-case letter or digit, or at the
    /// last capital of an acronym followed by a lower-case letter. MaxEpochs -> max_epochs, Stage2Pipeline ->
    /// stage2_pipeline, KLDiscretLoss -> kl_discret_loss, Sha256 -> sha256, SGD -> sgd.
    /// </summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                var prev = name[i - 1];
                var nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextIsLower))
                    sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>The key a property is written under.</summary>
    public static string KeyOf(PropertyInfo property) =>
        property.GetCustomAttribute<ConfigNameAttribute>()?.Name ?? ToSnakeCase(property.Name);

    /// <summary>The name an enum member is written as (its canonical spelling in messages).</summary>
    public static string NameOf(FieldInfo enumMember) =>
        enumMember.GetCustomAttribute<ConfigNameAttribute>()?.Name ?? enumMember.Name;
}
