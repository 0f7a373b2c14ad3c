using System.Runtime.Intrinsics.X86;
using System.Text;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Logging;

public class Crc32CTests
{
    // Check values of CRC-32C: "123456789" is the catalogue check value of the Castagnoli CRC; the four 32-byte
    // patterns are the iSCSI test vectors of RFC 3720, appendix B.4.
    public static TheoryData<byte[], uint> KnownVectors => new()
    {
        { Encoding.ASCII.GetBytes("123456789"), 0xE3069283u },
        { new byte[32], 0x8A9136AAu },
        { Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43u },
        { Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794Eu },
        { Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5Cu },
        { [], 0u },
    };

    [Theory]
    [MemberData(nameof(KnownVectors))]
    public void ComputeMatchesPublishedVectors(byte[] data, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(data));
    }

    [Theory]
    [MemberData(nameof(KnownVectors))]
    public void SoftwarePathMatchesPublishedVectors(byte[] data, uint expected)
    {
        Assert.Equal(expected, ~Crc32C.UpdateSoftware(~0u, data));
    }

    [Fact]
    public void BothPathsAgreeWithBitwiseDefinitionForEveryTailLength()
    {
        var random = new Random(17);
        for (int length = 0; length < 70; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            uint expected = BitwiseCrc32C(data);
            Assert.Equal(expected, ~Crc32C.UpdateSoftware(~0u, data));
            if (Sse42.IsSupported) Assert.Equal(expected, ~Crc32C.UpdateHardware(~0u, data));
            Assert.Equal(expected, Crc32C.Compute(data));
        }
    }

    [Fact]
    public void UpdateContinuesAFinishedChecksum()
    {
        var data = Encoding.ASCII.GetBytes("the quick brown fox jumps over the lazy dog");
        for (int split = 0; split <= data.Length; split += 7)
            Assert.Equal(Crc32C.Compute(data), Crc32C.Update(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
    }

    // The definition: reflected polynomial 0x82F63B78, one bit at a time, initial value and final xor all ones.
    private static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }
}
