using System.Reflection;
using System.Text.RegularExpressions;
using Distill.Pose.Models.Options;
using Distill.TestSupport;
using Distill.Training.Config.Schema;

namespace Distill.Training.Tests.Config;

/// <summary>
/// Every configuration key does something: each bindable property of every options class reachable from the roots
/// below is read somewhere in src/ outside the schema folders and the configuration library (which bind and validate
/// keys but give them no effect). "Read" is textual: a member access <c>.Name</c> in a source file, or a use inside a
/// computed property of the schema class (such as <c>EffectiveBeta</c>) that is itself read so. A key bound but never
/// read would silently do nothing.
/// </summary>
public class SchemaReadTests
{
    private static readonly Type[] Roots = [typeof(ExperimentOptions), typeof(ModelOptions), typeof(TeacherOptions), typeof(TeacherManifestOptions)];

    /// <summary>Folders (below src/) whose files declare, bind or validate keys: reads there give a key no effect.</summary>
    private static readonly string[] SchemaFolders = ["Distill.Config", "Distill.Training/Config/Schema", "Distill.Pose/Models/Options"];

    /// <summary>
    /// Properties read by reflection rather than by name, as Type.Property. None so far: every key is read by name.
    /// </summary>
    private static readonly HashSet<string> ReadByReflection = [];

    private static string Src => Path.Combine(SharedData.RepoRoot, "src");

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));

    private static bool InSchemaFolder(string file)
    {
        var relative = Path.GetRelativePath(Src, file).Replace('\\', '/');
        return SchemaFolders.Any(folder => relative.StartsWith(folder + "/", StringComparison.Ordinal));
    }

    /// <summary>Options classes reachable from the roots through properties, lists and arrays.</summary>
    private static List<Type> OptionsTypes()
    {
        var seen = new List<Type>();
        var pending = new Stack<Type>(Roots);
        while (pending.Count > 0)
        {
            var type = pending.Pop();
            if (seen.Contains(type)) continue;
            seen.Add(type);
            foreach (var p in Bindable(type))
                if (OptionsClass(p.PropertyType) is { } nested) pending.Push(nested);
        }
        return seen;
    }

    /// <summary>The properties the binder writes: public, instance, with a public setter, not indexers.</summary>
    private static IEnumerable<PropertyInfo> Bindable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);

    private static Type? OptionsClass(Type type)
    {
        if (type.IsArray) return OptionsClass(type.GetElementType()!);
        if (type.IsGenericType && type.GetGenericArguments() is [var item]) return OptionsClass(item);
        return type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("Distill.", StringComparison.Ordinal) == true ? type : null;
    }

    [Fact]
    public void TheWalkFindsTheNestedSchema()
    {
        var types = OptionsTypes();
        // Spot checks at several depths, so a broken walk cannot pass by finding nothing to check.
        Assert.Contains(typeof(EmaOptions), types);
        Assert.Contains(typeof(HsvOptions), types);
        Assert.Contains(typeof(GauOptions), types);
        Assert.Contains(typeof(TeacherEntryOptions), types);
        Assert.Contains(typeof(DataSourceOptions), types);
        Assert.True(types.Sum(t => Bindable(t).Count()) > 150, "too few keys found");
    }

    [Fact]
    public void EveryKeyIsReadOutsideTheSchema()
    {
        var files = SourceFiles(Src).ToList();
        Assert.NotEmpty(files);
        var outside = string.Join("\n", files.Where(f => !InSchemaFolder(f)).Select(File.ReadAllText));
        var schemaText = files.Where(InSchemaFolder).ToDictionary(f => f, File.ReadAllText);

        bool ReadOutside(string name) => Regex.IsMatch(outside, $@"\.{Regex.Escape(name)}\b");

        var unread = new List<string>();
        foreach (var type in OptionsTypes())
        {
            // The file declaring the class, whose computed (get-only) properties may read its keys.
            var declaring = schemaText.Where(kv => Regex.IsMatch(kv.Value, $@"\bclass {type.Name}\b")).Select(kv => kv.Value).SingleOrDefault();
            var computedBodies = declaring is null ? [] : type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is null && ReadOutside(p.Name))
                .Select(p => Regex.Match(declaring, $@"\b{p.Name}\s*=>\s*([^;]*);").Groups[1].Value)
                .ToList();
            foreach (var p in Bindable(type))
            {
                if (ReadOutside(p.Name) || ReadByReflection.Contains($"{type.Name}.{p.Name}")) continue;
                if (computedBodies.Any(body => Regex.IsMatch(body, $@"\b{p.Name}\b"))) continue;
                unread.Add($"{type.Name}.{p.Name}");
            }
        }
        Assert.True(unread.Count == 0, "bound but never read outside the schema: " + string.Join(", ", unread));
    }

    [Fact]
    public void TheCheckSeesAKeyNobodyReads()
    {
        // The check itself must be able to fail: a name used nowhere in src/ is not found.
        var outside = string.Join("\n", SourceFiles(Src).Where(f => !InSchemaFolder(f)).Select(File.ReadAllText));
        Assert.DoesNotMatch(@"\.NoSuchKeyAnywhere\b", outside);
        Assert.Matches(@"\.UpdateBuffers\b", outside);
    }
}
