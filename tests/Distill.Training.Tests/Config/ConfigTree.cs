using Distill.Training.Config;
using Distill.Config;

namespace Distill.Training.Tests.Config;

/// <summary>Reads nodes of a configuration tree by dotted path in assertions.</summary>
internal static class ConfigTree
{
    public static ConfigNode Node(ConfigMapping root, string path)
    {
        ConfigNode node = root;
        foreach (var segment in path.Split('.'))
        {
            node = node switch
            {
                ConfigMapping m => m[segment] ?? throw new KeyNotFoundException($"{path}: no '{segment}'"),
                ConfigSequence s => s[int.Parse(segment)],
                _ => throw new KeyNotFoundException($"{path}: '{segment}' is under a scalar"),
            };
        }
        return node;
    }

    public static ConfigScalar Scalar(ConfigMapping root, string path) => Assert.IsType<ConfigScalar>(Node(root, path));

    public static string[] Values(ConfigMapping root, string path) =>
        Assert.IsType<ConfigSequence>(Node(root, path)).Items.Select(i => Assert.IsType<ConfigScalar>(i).Value).ToArray();

    public static string[] Messages(ConfigException ex) => ex.Errors.Select(e => e.ToString()).ToArray();

    /// <summary>Compares error lines one per line, so a mismatch shows both lists in full.</summary>
    public static void AssertLines(string[] expected, string[] actual)
    {
        var e = string.Join("\n", expected);
        var a = string.Join("\n", actual);
        if (e != a)
            Assert.Fail($"expected:\n{e}\n\nactual:\n{a}");
    }
}
