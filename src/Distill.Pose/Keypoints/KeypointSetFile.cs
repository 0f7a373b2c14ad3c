using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Distill.Pose.Keypoints;

/// <summary>
/// The YAML layout of a keypoint-set file, as written (names, not indices). <see cref="KeypointSet"/> validates it
/// and resolves names to indices.
/// </summary>
internal sealed class KeypointSetFile
{
    public string? Name { get; set; }
    public List<string>? Keypoints { get; set; }
    public List<List<int>>? KeypointColors { get; set; }
    public List<List<string>>? FlipPairs { get; set; }
    public List<LinkEntry>? Skeleton { get; set; }
    public List<string>? UpperBody { get; set; }
    public List<string>? LowerBody { get; set; }
    public List<double>? Sigmas { get; set; }
    public List<double>? JointWeights { get; set; }
    public Dictionary<string, List<string>>? Aliases { get; set; }

    internal sealed class LinkEntry
    {
        public List<string>? Link { get; set; }
        public List<int>? Color { get; set; }
    }

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    /// <summary>Parses YAML text; syntax errors, unknown keys and wrong types name the source, line and column.</summary>
    public static KeypointSetFile Parse(string yaml, string source)
    {
        try
        {
            return Deserializer.Deserialize<KeypointSetFile?>(yaml)
                   ?? throw new KeypointSetException(source, null, "the file is empty");
        }
        catch (YamlException e)
        {
            // YamlDotNet nests the useful message (unknown property, bad scalar) inside a generic wrapper.
            Exception root = e;
            while (root.InnerException is not null) root = root.InnerException;
            string detail = root is YamlException ye && ye != e ? StripMark(ye.Message) : StripMark(e.Message);
            if (root is not YamlException) detail = root.Message;
            throw new KeypointSetException(source, null, $"line {e.Start.Line}, column {e.Start.Column}: {detail}", e);
        }
    }

    // YamlDotNet wraps messages in "(Line: a, Col: b, Idx: c) - (...): " and " (at Line: ...)"; we report the
    // position ourselves, and name unknown keys in YAML terms rather than by our C# type.
    private static string StripMark(string message)
    {
        int i = message.IndexOf("): ", StringComparison.Ordinal);
        if (message.StartsWith("(Line:", StringComparison.Ordinal) && i >= 0) message = message[(i + 3)..];
        int at = message.IndexOf(" (at Line:", StringComparison.Ordinal);
        if (at >= 0) message = message[..at];
        var unknown = System.Text.RegularExpressions.Regex.Match(message, "^Property '(.+)' not found on type");
        return unknown.Success ? $"unknown key '{unknown.Groups[1].Value}'" : message;
    }
}
