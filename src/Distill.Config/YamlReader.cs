using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Distill.Config;

/// <summary>
/// Builds a <see cref="ConfigNode"/> tree from YamlDotNet's parser events, so every node keeps its file, line and
/// column. Problems that leave the rest of the file readable (duplicate keys, unknown aliases) are recorded and
/// reading goes on; a syntax error ends the file.
/// </summary>
internal sealed class YamlReader
{
    private readonly Parser _parser;
    private readonly string _file;
    private readonly List<ConfigError> _errors;
    private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);
    private Mark _lastMark = Mark.Empty;

    private YamlReader(TextReader text, string file, List<ConfigError> errors)
    {
        _parser = new Parser(text);
        _file = file;
        _errors = errors;
    }

    /// <summary>
    /// Reads a single-document YAML text whose top level is a mapping (an empty text is an empty mapping).
    /// Returns null when the text cannot be read at all; the reason is in <paramref name="errors"/>.
    /// </summary>
    public static ConfigMapping? ReadMapping(TextReader text, string file, List<ConfigError> errors)
    {
        var node = ReadDocument(text, file, errors);
        switch (node)
        {
            case null:
                return null;
            case ConfigMapping mapping:
                return mapping;
            case ConfigScalar scalar when scalar.IsNull:
                return new ConfigMapping([], scalar.Location);
            default:
                errors.Add(new ConfigError(node.Location, "", $"the top level must be a mapping of keys, not {node.Describe()}"));
                return null;
        }
    }

    /// <summary>Reads a single-document YAML text of any shape (an empty text is a null scalar).</summary>
    public static ConfigNode? ReadDocument(TextReader text, string file, List<ConfigError> errors)
    {
        // Config files are small: kept whole so that an error can be placed by looking at the text itself.
        var source = text.ReadToEnd();
        var reader = new YamlReader(new StringReader(source), file, errors);
        try
        {
            return reader.ReadStream();
        }
        catch (YamlException ex)
        {
            // The scanner places a tab in the indentation at the start of the enclosing mapping; the tab's own line is the useful place.
            if (ex.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && IndentationTab(source, (int)ex.Start.Line) is var (line, column))
            {
                errors.Add(new ConfigError(ConfigLocation.InFile(file, line, column), "",
                    "YAML syntax error: a tab in the indentation (YAML indents with spaces only)"));
                return null;
            }
            errors.Add(new ConfigError(reader.At(ex.Start), "", "YAML syntax error: " + ex.Message));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException for some unterminated flow collections.
            errors.Add(new ConfigError(reader.At(reader._lastMark), "",
                "YAML syntax error: the text ends inside an unfinished construct (an unclosed bracket or brace?)"));
            return null;
        }
    }

    /// <summary>The 1-based line and column of the first tab in a line's leading whitespace, from line <paramref name="fromLine"/> on.</summary>
    private static (int Line, int Column)? IndentationTab(string text, int fromLine)
    {
        var lines = text.Split('\n');
        for (int i = Math.Max(0, fromLine - 1); i < lines.Length; i++)
        {
            var l = lines[i];
            for (int c = 0; c < l.Length && l[c] is ' ' or '\t'; c++)
                if (l[c] == '\t') return (i + 1, c + 1);
        }
        return null;
    }

    private ConfigNode? ReadStream()
    {
        Expect<StreamStart>();
        var first = Next();
        if (first is StreamEnd)
            return new ConfigScalar("", ScalarStyle.Plain, null, At(first.Start));
        if (first is not DocumentStart)
            throw Unexpected(first);
        var root = ReadNode(Next(), "");
        Expect<DocumentEnd>();
        var after = Next();
        if (after is not StreamEnd)
        {
            _errors.Add(new ConfigError(At(after.Start), "", "a configuration file holds one YAML document; found a second one"));
            return null;
        }
        return root;
    }

    private ConfigNode ReadNode(ParsingEvent ev, string path)
    {
        switch (ev)
        {
            case Scalar scalar:
                return Remember(scalar, new ConfigScalar(scalar.Value, scalar.Style, TagOf(scalar.Tag), At(scalar.Start)));
            case SequenceStart start:
                return Remember(start, ReadSequence(start, path));
            case MappingStart start:
                return Remember(start, ReadMapping(start, path));
            case AnchorAlias alias:
                if (_anchors.TryGetValue(alias.Value.Value, out var target))
                    return target;
                _errors.Add(new ConfigError(At(alias.Start), path, $"alias *{alias.Value.Value} refers to no anchor defined before it"));
                return new ConfigScalar("", ScalarStyle.Plain, null, At(alias.Start));
            default:
                throw Unexpected(ev);
        }
    }

    private ConfigSequence ReadSequence(SequenceStart start, string path)
    {
        var items = new List<ConfigNode>();
        for (var ev = Next(); ev is not SequenceEnd; ev = Next())
            items.Add(ReadNode(ev, Join(path, items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        return new ConfigSequence(items, start.Style == SequenceStyle.Flow, At(start.Start));
    }

    private ConfigMapping ReadMapping(MappingStart start, string path)
    {
        var entries = new List<ConfigEntry>();
        for (var ev = Next(); ev is not MappingEnd; ev = Next())
        {
            var keyLocation = At(ev.Start);
            if (ev is not Scalar keyScalar)
            {
                _errors.Add(new ConfigError(keyLocation, path, "mapping keys must be plain scalars, not lists, mappings or aliases"));
                SkipNode(ev);
                SkipNode(Next());
                continue;
            }

            var key = keyScalar.Value;
            var keyPath = Join(path, key);
            var value = ReadNode(Next(), keyPath);
            if (key == "<<" && keyScalar.Style == ScalarStyle.Plain)
            {
                _errors.Add(new ConfigError(keyLocation, keyPath, "YAML merge keys (<<) are not supported; use _base_ to inherit from another file"));
                continue;
            }

            var first = entries.Find(e => e.Key == key);
            if (first is not null)
            {
                _errors.Add(new ConfigError(keyLocation, keyPath,
                    $"duplicate key (first defined at line {first.KeyLocation.Line}, column {first.KeyLocation.Column})"));
                continue;
            }
            entries.Add(new ConfigEntry(key, keyLocation, value));
        }
        return new ConfigMapping(entries, At(start.Start));
    }

    /// <summary>Consumes the rest of a node that is being discarded (a complex key), without recording it.</summary>
    private void SkipNode(ParsingEvent ev)
    {
        var depth = ev is SequenceStart or MappingStart ? 1 : 0;
        while (depth > 0)
        {
            var next = Next();
            if (next is SequenceStart or MappingStart)
                depth++;
            else if (next is SequenceEnd or MappingEnd)
                depth--;
        }
    }

    private ConfigNode Remember(NodeEvent ev, ConfigNode node)
    {
        if (!ev.Anchor.IsEmpty)
            _anchors[ev.Anchor.Value] = node;
        return node;
    }

    private ParsingEvent Next()
    {
        if (!_parser.MoveNext() || _parser.Current is null)
            throw new YamlException(_lastMark, _lastMark, "unexpected end of the text");
        _lastMark = _parser.Current.End;
        return _parser.Current;
    }

    private void Expect<T>() where T : ParsingEvent
    {
        var ev = Next();
        if (ev is not T)
            throw Unexpected(ev);
    }

    private static YamlException Unexpected(ParsingEvent ev) =>
        new(ev.Start, ev.End, $"unexpected {ev.GetType().Name} in the event stream");

    private static string? TagOf(TagName tag) => tag.IsEmpty || tag.IsNonSpecific ? null : tag.Value;

    private ConfigLocation At(Mark mark) => ConfigLocation.InFile(_file, (int)mark.Line, (int)mark.Column);

    internal static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
}
