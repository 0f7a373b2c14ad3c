using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Distill.Config;

/// <summary>
/// Writes a configuration tree as block YAML in the tree's own key order. Scalars keep their quoting and tags, so
/// the text reads back to the same values; lists of scalars written inline stay inline.
/// </summary>
internal static class YamlWriter
{
    public static string Write(ConfigNode node)
    {
        var text = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, ConfigNode node)
    {
        switch (node)
        {
            case ConfigScalar scalar:
                emitter.Emit(ToEvent(scalar));
                break;
            case ConfigSequence sequence:
            {
                var flow = sequence.Count == 0 || (sequence.IsFlow && sequence.Items.All(i => i is ConfigScalar));
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, flow ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in sequence.Items)
                    Emit(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            }
            case ConfigMapping mapping:
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, mapping.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var entry in mapping.Entries)
                {
                    emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, entry.Key, ScalarStyle.Plain, true, true));
                    Emit(emitter, entry.Value);
                }
                emitter.Emit(new MappingEnd());
                break;
        }
    }

    private static Scalar ToEvent(ConfigScalar scalar)
    {
        if (scalar.IsNull)
            return new Scalar(AnchorName.Empty, TagName.Empty, "null", ScalarStyle.Plain, true, false);
        if (scalar.Tag is not null)
            return new Scalar(AnchorName.Empty, new TagName(scalar.Tag), scalar.Value, scalar.Style, false, false);
        var plain = scalar.Style == ScalarStyle.Plain;
        return new Scalar(AnchorName.Empty, TagName.Empty, scalar.Value, scalar.Style, plain, !plain);
    }
}
