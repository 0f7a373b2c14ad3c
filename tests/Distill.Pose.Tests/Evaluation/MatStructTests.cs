using System.Buffers.Binary;
using System.Text;
using Distill.Pose.Evaluation;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Evaluation;

/// <summary>
/// Struct and cell arrays, nested: files written by scipy.io.savemat while the test runs (values restated in the
/// script below), and hand-assembled bytes for the bounds checks scipy never violates.
/// </summary>
public sealed class MatStructTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-matstruct-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string NestedScript = """
        import sys
        import numpy as np
        from scipy.io import savemat
        inner = np.zeros((1, 1), dtype=[('d', 'O')])
        inner[0, 0]['d'] = np.array([[5.0]])
        cell = np.empty((1, 3), dtype=object)
        cell[0, 0] = inner
        cell[0, 1] = np.array('txt')
        cell[0, 2] = np.zeros((0, 0))
        s = np.zeros((1, 1), dtype=[('a', 'O'), ('b', 'O'), ('c', 'O')])
        s[0, 0] = (np.array([[1.5, -2.0]]), np.array('hello'), cell)
        arr = np.zeros((1, 2), dtype=[('v', 'O'), ('w', 'O')])
        arr[0, 0] = (np.array([[1]], dtype=np.int32), np.array('x'))
        arr[0, 1] = (np.array([[2]], dtype=np.int32), np.zeros((0, 0)))
        savemat(sys.argv[1], {'s': s, 'arr': arr, 'plain': np.array([[7.0]])}, do_compression=sys.argv[2] == 'compress')
        """;

    [ScipyFact]
    public void ReadsNestedStructsAndCellsWrittenByScipy()
    {
        foreach (var compress in new[] { false, true })
        {
            string path = Path.Combine(_dir, $"nested-{compress}.mat");
            Scipy.Run(NestedScript, path, compress ? "compress" : "plain");
            var file = MatFile.Read(path);

            var s = file["s"];
            Assert.Equal(MatClass.Struct, s.Class);
            Assert.Equal(["a", "b", "c"], s.FieldNames);
            Assert.Equal([1.5, -2.0], s.Field("a").Real.ToArray());
            Assert.Equal("hello", s.Field("b").Text);
            var cell = s.Field("c");
            Assert.Equal("s.c", cell.Path);
            Assert.Equal(3, cell.Cells.Count);
            Assert.Equal(5.0, cell.Cells[0].Field("d").Scalar());
            Assert.Equal("s.c{1}.d", cell.Cells[0].Field("d").Path);
            Assert.Equal("txt", cell.Cells[1].Text);
            Assert.True(cell.Cells[2].IsEmpty);

            var arr = file["arr"];
            Assert.Equal([1, 2], arr.Dimensions);
            Assert.Equal(1.0, arr.Field("v", 0).Scalar());
            Assert.Equal(2.0, arr.Field("v", 1).Scalar());
            Assert.Equal("arr(2).v", arr.Field("v", 1).Path);
            Assert.Equal("x", arr.Field("w", 0).Text);
            Assert.True(arr.Field("w", 1).IsEmpty);
            Assert.Equal(7.0, file["plain"].Scalar());
        }
    }

    [ScipyFact]
    public void MissingFieldsAndElementsNameTheFileAndPath()
    {
        string path = Path.Combine(_dir, "nested.mat");
        Scipy.Run(NestedScript, path, "plain");
        var file = MatFile.Read(path);
        var inner = file["s"].Field("c").Cells[0];
        var missing = Assert.Throws<KeyNotFoundException>(() => inner.Field("e"));
        Assert.Contains(path, missing.Message);
        Assert.Contains("'s.c{1}'", missing.Message);
        Assert.Contains("fields: d", missing.Message);
        var past = Assert.Throws<IndexOutOfRangeException>(() => file["arr"].Field("v", 2));
        Assert.Contains("element 3 requested of a struct array with 2", past.Message);
        var notStruct = Assert.Throws<InvalidOperationException>(() => file["plain"].Field("x"));
        Assert.Contains("not a struct array", notStruct.Message);
    }

    // A little-endian MAT writer for shapes scipy never produces.
    private static byte[] Element(uint type, byte[] payload)
    {
        var b = new byte[8 + ((payload.Length + 7) & ~7)];
        BinaryPrimitives.WriteUInt32LittleEndian(b, type);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(b, 8);
        return b;
    }

    private static byte[] Ints(params int[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>An miMATRIX struct element: flags, dims, name, field-name width, names and the given value elements.</summary>
    private static byte[] Struct(string name, int[] dims, int width, string names, params byte[][] values)
    {
        var body = Element(6, [2, 0, 0, 0, 0, 0, 0, 0])            // miUINT32 flags, class 2 (struct)
            .Concat(Element(5, Ints(dims)))
            .Concat(Element(1, Encoding.ASCII.GetBytes(name)))
            .Concat(Element(5, Ints(width)))
            .Concat(Element(1, Encoding.ASCII.GetBytes(names)))
            .Concat(values.SelectMany(v => v))
            .ToArray();
        return Element(14, body);
    }

    private static byte[] Double(double v) =>
        Element(14, Element(6, [6, 0, 0, 0, 0, 0, 0, 0]).Concat(Element(5, Ints(1, 1))).Concat(Element(1, []))
            .Concat(Element(9, BitConverter.GetBytes(v))).ToArray());

    private static MemoryStream File(byte[] body)
    {
        var header = new byte[128];
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, hand made").CopyTo(header, 0);
        for (int i = 30; i < 116; i++) header[i] = (byte)' ';
        header[124] = 0x00;
        header[125] = 0x01;
        header[126] = (byte)'I';
        header[127] = (byte)'M';
        return new MemoryStream(header.Concat(body).ToArray());
    }

    [Fact]
    public void HandMadeStructReadsAndItsBoundsAreChecked()
    {
        // Two fields of width 8 ("x\0\0\0\0\0\0\0y\0..."), one element.
        var good = Struct("p", [1, 1], 8, "x\0\0\0\0\0\0\0y\0\0\0\0\0\0\0", Double(3.5), Double(-1));
        var p = MatFile.Read(File(good), "good.mat")["p"];
        Assert.Equal((3.5, -1.0), (p.Field("x").Scalar(), p.Field("y").Scalar()));

        // One value for two fields: the second tag runs past the data.
        var shortOfValues = Struct("p", [1, 1], 8, "x\0\0\0\0\0\0\0y\0\0\0\0\0\0\0", Double(3.5));
        var e1 = Assert.Throws<FormatException>(() => MatFile.Read(File(shortOfValues), "short.mat"));
        Assert.Contains("short.mat", e1.Message);

        // 12 bytes of names do not divide into names of 8.
        var ragged = Struct("p", [1, 1], 8, "x\0\0\0\0\0\0\0y\0\0\0", Double(1), Double(2));
        var e2 = Assert.Throws<FormatException>(() => MatFile.Read(File(ragged), "ragged.mat"));
        Assert.Contains("ragged.mat", e2.Message);
        Assert.Contains("do not divide", e2.Message);

        // A million elements claimed with two values present.
        var huge = Struct("p", [1000, 1000], 8, "x\0\0\0\0\0\0\0", Double(1), Double(2));
        var e3 = Assert.Throws<FormatException>(() => MatFile.Read(File(huge), "huge.mat"));
        Assert.Contains("exceed the data present", e3.Message);

        // The same field twice.
        var twice = Struct("p", [1, 1], 8, "x\0\0\0\0\0\0\0x\0\0\0\0\0\0\0", Double(1), Double(2));
        Assert.Contains("appears twice", Assert.Throws<FormatException>(() => MatFile.Read(File(twice), "twice.mat")).Message);

        // Structs nested 100 deep are refused before the stack is at risk.
        var deep = Double(1);
        for (int i = 0; i < 100; i++) deep = Struct("", [1, 1], 8, "f\0\0\0\0\0\0\0", deep);
        deep = Struct("top", [1, 1], 8, "f\0\0\0\0\0\0\0", deep);
        var e4 = Assert.Throws<FormatException>(() => MatFile.Read(File(deep), "deep.mat"));
        Assert.Contains("nested more than", e4.Message);
    }
}
