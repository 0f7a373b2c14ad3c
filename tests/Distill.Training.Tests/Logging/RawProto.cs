using Google.Protobuf;

namespace Distill.Training.Tests.Logging;

/// <summary>
/// Walks raw protobuf bytes field by field, so tests can check field numbers and wire types against TensorBoard's
/// published .proto files without going through the generated classes.
/// </summary>
internal static class RawProto
{
    /// <summary>(field number, wire type) of every top-level field, in the order they were written.</summary>
    public static List<(int Field, WireType Type)> Tags(byte[] message)
    {
        var tags = new List<(int, WireType)>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            tags.Add((Google.Protobuf.WireFormat.GetTagFieldNumber(tag), (WireType)Google.Protobuf.WireFormat.GetTagWireType(tag)));
            input.SkipLastField();
        }
        return tags;
    }

    /// <summary>The bytes of the first length-delimited field numbered <paramref name="field"/>.</summary>
    public static byte[] Submessage(byte[] message, int field)
    {
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Google.Protobuf.WireFormat.GetTagFieldNumber(tag) == field
                && Google.Protobuf.WireFormat.GetTagWireType(tag) == Google.Protobuf.WireFormat.WireType.LengthDelimited)
                return input.ReadBytes().ToByteArray();
            input.SkipLastField();
        }
        throw new InvalidOperationException($"no length-delimited field {field}");
    }

    public enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }
}
