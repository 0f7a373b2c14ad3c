using System.Buffers.Binary;
using System.Text;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

/// <summary>A .pth whose members fail their CRC-32 is refused; a load that does not fit reports briefly, with a hint.</summary>
public sealed class PthIntegrityTests
{
    /// <summary>Flips one bit in the data of member <paramref name="suffix"/>, found through its local header; returns the new file.</summary>
    private static string Damaged(TempDir dir, string source, string suffix, int byteInMember)
    {
        var bytes = File.ReadAllBytes(TestFile(source));
        for (int p = 0; p + 30 <= bytes.Length; p++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(p)) != 0x04034b50) continue;
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(p + 26));
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(p + 28));
            string name = Encoding.UTF8.GetString(bytes, p + 30, nameLen);
            if (!name.EndsWith(suffix, StringComparison.Ordinal)) continue;
            bytes[p + 30 + nameLen + extraLen + byteInMember] ^= 0x10;
            var path = dir.File("damaged_" + source);
            File.WriteAllBytes(path, bytes);
            return path;
        }
        throw new InvalidOperationException($"{source} has no member ending in {suffix}");
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        // The CRC-32 (zip, IEEE 802.3) of the ASCII digits 1-9 is 0xCBF43926; split runs continue the same value.
        var digits = "123456789"u8;
        Assert.Equal(0xCBF43926u, Crc32.Compute(digits));
        Assert.Equal(0xCBF43926u, Crc32.Append(Crc32.Compute(digits[..5]), digits[5..]));
        Assert.Equal(0u, Crc32.Compute([]));
    }

    [Theory]
    [InlineData("data/0", 5)]   // a tensor's storage
    [InlineData("data.pkl", 40)] // the pickle itself
    public void MemberFailingItsCrcIsRefused(string member, int offset)
    {
        using var dir = new TempDir();
        var path = Damaged(dir, "checkpoint.pth", member, offset);
        var e = Assert.Throws<CheckpointFormatException>(() =>
        {
            foreach (var t in StateDictLoader.LoadStateDict(path).Values) t.Dispose();
        });
        Assert.Contains($"/{member}' fails its CRC-32 check", e.Message);
        Assert.Contains(path, e.Message);
        // The intact file still loads.
        foreach (var t in StateDictLoader.LoadStateDict(TestFile("checkpoint.pth")).Values) t.Dispose();
    }

    [Fact]
    public void DeflatedMemberFailingItsCrcIsRefused()
    {
        using var dir = new TempDir();
        var path = dir.File("deflated.pth");
        File.Copy(TestFile("views_deflated.pth"), path);
        // Rewrite the stored CRC of one data member in both directory records: the bytes inflate fine but no longer match it.
        var bytes = File.ReadAllBytes(path);
        int changed = 0;
        for (int p = 0; p + 46 <= bytes.Length; p++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(p));
            int nameAt = sig == 0x04034b50 ? 26 : sig == 0x02014b50 ? 28 : -1;
            if (nameAt < 0) continue;
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(p + nameAt));
            int nameStart = p + (sig == 0x04034b50 ? 30 : 46);
            if (nameStart + nameLen > bytes.Length || !Encoding.UTF8.GetString(bytes, nameStart, nameLen).EndsWith("/data/0", StringComparison.Ordinal)) continue;
            int crcAt = p + (sig == 0x04034b50 ? 14 : 16);
            bytes[crcAt] ^= 0xFF;
            changed++;
        }
        Assert.Equal(2, changed);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsAny<Exception>(() =>
        {
            foreach (var t in StateDictLoader.LoadStateDict(path).Values) t.Dispose();
        });
        Assert.Contains("data/0", e.Message);
        Assert.Contains("CRC", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ShapeMismatchReportListsAFewKeysThenACountThenAHint()
    {
        using var narrow = new Sequential(Enumerable.Range(0, 12).Select(_ => (Module<Tensor, Tensor>)new Linear(4, 4)).ToArray());
        using var wide = new Sequential(Enumerable.Range(0, 12).Select(_ => (Module<Tensor, Tensor>)new Linear(8, 8)).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => narrow.LoadStateDict(wide.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value)));
        // 12 layers x (weight, bias) = 24 mismatches: five are listed, the other 19 counted.
        Assert.Contains("shape mismatches (24): 0.weight expects [4, 4] but got [8, 8], 0.bias expects [4] but got [8], ", e.Message);
        Assert.Contains("2.weight expects [4, 4] but got [8, 8], and 19 more", e.Message);
        Assert.DoesNotContain("3.weight", e.Message);
        Assert.EndsWith("Hint: the model is narrower than the checkpoint (every mismatched tensor is larger there): check the width or size settings of the model", e.Message);
        Assert.True(e.Message.Length < 600, $"{e.Message.Length} characters");

        var w = Assert.Throws<InvalidDataException>(() => wide.LoadStateDict(narrow.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value)));
        Assert.Contains("Hint: the model is wider than the checkpoint", w.Message);
    }
}
