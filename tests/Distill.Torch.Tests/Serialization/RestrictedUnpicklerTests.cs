using System.Numerics;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

/// <summary>Hand-assembled pickles; each expected value follows from the opcode definitions in the pickle spec.</summary>
public class RestrictedUnpicklerTests
{
    private static object? Load(string s) => RestrictedUnpickler.Load(Latin1(s), "hand.pkl");

    [Fact]
    public void DecodesIntegersOfEveryWidth()
    {
        // BININT1 200, BININT2 0xBEEF = 48879, BININT 0xFFFFFFFE = -2 (signed 32-bit)
        Assert.Equal(200L, Load("\u0080\u0002K\u00c8."));
        Assert.Equal(48879L, Load("\u0080\u0002M\u00ef\u00be."));
        Assert.Equal(-2L, Load("\u0080\u0002J\u00fe\u00ff\u00ff\u00ff."));
        // LONG1: little-endian two's complement. [] = 0; [00 80] = -32768; [ff 00] = 255; [01 00 00 00 00 00 00 00 80] = 2^64 * -128 + 1
        Assert.Equal(0L, Load("\u0080\u0002\u008a\u0000."));
        Assert.Equal(-32768L, Load("\u0080\u0002\u008a\u0002\u0000\u0080."));
        Assert.Equal(255L, Load("\u0080\u0002\u008a\u0002\u00ff\u0000."));
        Assert.Equal(long.MinValue, Load("\u0080\u0002\u008a\u0008\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0080."));
        Assert.Equal(BigInteger.Parse("-2361183241434822606847"),
            Load("\u0080\u0002\u008a\u0009\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0080."));
        // LONG4 with 9 bytes: 2^64 = [00 x8, 01]
        Assert.Equal(BigInteger.Pow(2, 64), Load("\u0080\u0002\u008b\u0009\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001."));
    }

    [Fact]
    public void DecodesFloatsStringsBytesAndConstants()
    {
        // BINFLOAT is big-endian IEEE 754: 1.5 = 3F F8 00 00 00 00 00 00
        Assert.Equal(1.5, Load("\u0080\u0002G\u003f\u00f8\u0000\u0000\u0000\u0000\u0000\u0000."));
        // SHORT_BINUNICODE / BINUNICODE / BINUNICODE8 carry UTF-8: "é" = C3 A9
        Assert.Equal("é", Load("\u0080\u0004\u008c\u0002\u00c3\u00a9."));
        Assert.Equal("ab", Load("\u0080\u0002X\u0002\u0000\u0000\u0000ab."));
        Assert.Equal("ab", Load("\u0080\u0004\u008d\u0002\u0000\u0000\u0000\u0000\u0000\u0000\u0000ab."));
        Assert.Equal(new byte[] { 1, 2 }, Load("\u0080\u0003C\u0002\u0001\u0002."));
        Assert.Equal(new byte[] { 9 }, Load("\u0080\u0003B\u0001\u0000\u0000\u0000\u0009."));
        Assert.Null(Load("\u0080\u0002N."));
        Assert.Equal(true, Load("\u0080\u0002\u0088."));
        Assert.Equal(false, Load("\u0080\u0002\u0089."));
    }

    [Fact]
    public void BuildsContainersAndMemo()
    {
        // [1, 2, 1] via EMPTY_LIST, BINPUT 0, MARK, K1, K2, APPENDS, BINGET 0 ... the memo returns the same list.
        var l = Assert.IsType<List<object?>>(Load("\u0080\u0002]q\u0000(K\u0001K\u0002eK\u0001a."));
        Assert.Equal(new object?[] { 1L, 2L, 1L }, l);
        // (x, x) where x = [] memoized: both elements are the same object.
        var t = Assert.IsType<object?[]>(Load("\u0080\u0002]q\u0000h\u0000\u0086."));
        Assert.Same(t[0], t[1]);
        // MARK 'a' 1 'b' 2 DICT -> {'a': 1, 'b': 2} in order; then SETITEM 'c' 3.
        var d = Assert.IsType<PickleDict>(Load("\u0080\u0002(X\u0001\u0000\u0000\u0000aK\u0001X\u0001\u0000\u0000\u0000bK\u0002dX\u0001\u0000\u0000\u0000cK\u0003s."));
        Assert.Equal(new object[] { "a", "b", "c" }, d.Keys);
        Assert.Equal(3L, d["c"]);
        // Tuple keys compare element-wise; a None key is stored as PickleDict.NoneKey.
        var k = Assert.IsType<PickleDict>(Load("\u0080\u0002}K\u0001K\u0002\u0086K\u0007sNK\u0008s."));
        Assert.Equal(7L, k[new object?[] { 1L, 2L }]);
        Assert.Equal(8L, k[PickleDict.NoneKey]);
        // Protocol 4: FRAME, MEMOIZE (slot = memo size), BINGET 1.
        var m = Assert.IsType<object?[]>(Load("\u0080\u0004\u0095\u000a\u0000\u0000\u0000\u0000\u0000\u0000\u0000K\u0005\u0094K\u0006\u0094h\u0001\u0087."));
        Assert.Equal(new object?[] { 5L, 6L, 6L }, m);
        // collections.OrderedDict([('x', 1)]) via REDUCE
        var od = Assert.IsType<PickleDict>(Load("\u0080\u0002ccollections\nOrderedDict\n]X\u0001\u0000\u0000\u0000xK\u0001\u0086a\u0085R."));
        Assert.Equal(1L, od["x"]);
    }

    [Theory]
    [InlineData("\u0080\u0002K\u0001", "without a STOP")] // no STOP
    [InlineData("\u0080\u0002X\u00ff\u00ff\u00ff\u00ff.", "runs past the end")] // 4 GB string in a 9-byte pickle: no allocation
    [InlineData("\u0080\u0004\u008d\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff.", "runs past the end")]
    [InlineData("\u0080\u0002t.", "no MARK")]
    [InlineData("\u0080\u0002h\u0007.", "memo slot 7")]
    [InlineData("\u0080\u0002\u0085.", "stack underflow")]
    [InlineData("\u0080\u0002K\u0001(\u0085.", "stack underflow")] // TUPLE1 cannot reach below a MARK
    [InlineData("\u0080\u0002K\u0001K\u0002K\u0003s.", "not a dict")]
    [InlineData("\u0080\u0002K\u0001)R.", "not callable")]
    [InlineData("\u0080\u0006N.", "protocol 6")]
    [InlineData("\u0080\u0002(K\u0001K\u0002tQ.", "no storage table")]
    public void RejectsMalformedPickles(string pickle, string fragment)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => Load(pickle));
        Assert.Contains("hand.pkl", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Theory]
    [InlineData("\u0080\u0002i__main__\nX\n.", 0x69)] // INST: instantiates through the text protocol
    [InlineData("\u0080\u0002(K\u0001o.", 0x6f)] // OBJ
    [InlineData("\u0080\u0002I1\n.", 0x49)] // INT (text protocol)
    [InlineData("\u0080\u0002K\u0001K\u0001\u0082.", 0x82)] // EXT1: extension registry lookup
    public void RejectsOpcodesOutsideTheDataSubsetWithPosition(string pickle, int opcode)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => Load(pickle));
        Assert.Contains($"0x{opcode:X2}", ex.Message);
        int position = pickle.IndexOf((char)opcode, 2);
        Assert.Contains($"pickle byte {position}:", ex.Message);
    }

    [Fact]
    public void TorchDTypeGlobalsBecomeDTypes()
    {
        Assert.Equal(DType.BFloat16, Load("\u0080\u0002ctorch\nbfloat16\n."));
        Assert.Equal(DType.Int64, Load("\u0080\u0002ctorch\nlong\n."));
        // A dtype Distill has no enum value for stays a placeholder.
        Assert.IsType<PickleGlobal>(Load("\u0080\u0002ctorch\ncomplex64\n."));
    }
}
