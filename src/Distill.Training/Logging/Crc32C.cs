using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Distill.Training.Logging;

/// <summary>
/// CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of TFRecord framing.
/// Uses the SSE4.2 crc32 instruction when the CPU has it and an 8-way sliced table otherwise.
/// </summary>
public static class Crc32C
{
    private const uint ReflectedPolynomial = 0x82F63B78u;

    // Tables[k][b] is the CRC register after feeding byte b followed by k zero bytes, which lets the software path
    // consume eight bytes per step with eight independent look-ups.
    private static readonly uint[][] Tables = BuildTables();

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>
    /// Extends a finished checksum with more bytes: <c>Update(Compute(a), b) == Compute(a + b)</c>.
    /// </summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data) =>
        ~(Sse42.IsSupported ? UpdateHardware(~crc, data) : UpdateSoftware(~crc, data));

    /// <summary>Table-driven register update (no pre/post inversion); the path used on CPUs without SSE4.2.</summary>
    internal static uint UpdateSoftware(uint register, ReadOnlySpan<byte> data)
    {
        uint[] t0 = Tables[0], t1 = Tables[1], t2 = Tables[2], t3 = Tables[3];
        uint[] t4 = Tables[4], t5 = Tables[5], t6 = Tables[6], t7 = Tables[7];
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ register;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            register = t7[lo & 0xFF] ^ t6[(lo >> 8) & 0xFF] ^ t5[(lo >> 16) & 0xFF] ^ t4[lo >> 24]
                     ^ t3[hi & 0xFF] ^ t2[(hi >> 8) & 0xFF] ^ t1[(hi >> 16) & 0xFF] ^ t0[hi >> 24];
            data = data[8..];
        }
        foreach (byte b in data) register = t0[(register ^ b) & 0xFF] ^ (register >> 8);
        return register;
    }

    /// <summary>Register update with the SSE4.2 instruction (no pre/post inversion).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint UpdateHardware(uint register, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong wide = register;
            while (data.Length >= 8)
            {
                wide = Sse42.X64.Crc32(wide, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            register = (uint)wide;
        }
        while (data.Length >= 4)
        {
            register = Sse42.Crc32(register, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }
        foreach (byte b in data) register = Sse42.Crc32(register, b);
        return register;
    }

    private static uint[][] BuildTables()
    {
        var tables = new uint[8][];
        for (int k = 0; k < 8; k++) tables[k] = new uint[256];
        for (uint b = 0; b < 256; b++)
        {
            uint r = b;
            for (int bit = 0; bit < 8; bit++) r = (r & 1) != 0 ? (r >> 1) ^ ReflectedPolynomial : r >> 1;
            tables[0][b] = r;
        }
        for (int k = 1; k < 8; k++)
            for (int b = 0; b < 256; b++)
                tables[k][b] = tables[0][tables[k - 1][b] & 0xFF] ^ (tables[k - 1][b] >> 8);
        return tables;
    }
}
