using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

/// <summary>
/// Inputs: Data/mpii_gt_small*.mat written by scipy.io.savemat (scipy 1.10.1) with and without compression, and
/// Data/mat_big_endian.mat assembled byte by byte; all three by Data/make_mat_files.py, whose values are restated here.
/// </summary>
public class MatFileTests
{
    [Theory]
    [InlineData("mpii_gt_small.mat")]
    [InlineData("mpii_gt_small_compressed.mat")]
    public void ReadsScipyFiles(string name)
    {
        var file = MatFile.Read(EvaluationData.Path(name));
        Assert.StartsWith("MATLAB 5.0 MAT-file", file.HeaderText);

        var boxes = file["headboxes_src"];
        Assert.Equal(MatClass.Double, boxes.Class);
        Assert.Equal([2, 2, 3], boxes.Dimensions);
        // headboxes_src[:, :, 2] = [[120, 52], [150, 92]] (rows are corners, columns x and y).
        Assert.Equal(120, boxes[0, 0, 2]);
        Assert.Equal(52, boxes[0, 1, 2]);
        Assert.Equal(150, boxes[1, 0, 2]);
        Assert.Equal(92, boxes[1, 1, 2]);

        var missing = file["jnt_missing"];
        Assert.Equal(MatClass.UInt8, missing.Class);
        Assert.Equal([16, 3], missing.Dimensions);
        Assert.Equal(1, missing[3, 1]);
        Assert.Equal(0, missing[3, 0]);

        // pos_gt_src[j, :, i] = (200 + j + 0.25 + 100 i, 300 + 2 j + 0.5 + i): j = 5, i = 1 -> (305.25, 311.5).
        var pos = file["pos_gt_src"];
        Assert.Equal([16, 2, 3], pos.Dimensions);
        Assert.Equal(305.25, pos[5, 0, 1]);
        Assert.Equal(311.5, pos[5, 1, 1]);

        var names = file["dataset_joints"];
        Assert.Equal(MatClass.Cell, names.Class);
        Assert.Equal(["rank", "rkne", "rhip"], names.Cells.Select(c => c.Text));

        var ints = file["small_ints"];
        Assert.Equal(MatClass.Int16, ints.Class);
        Assert.Equal([-3.0, 1000, 7, -32768], ints.Real.ToArray()); // [[-3, 7], [1000, -32768]] column-major

        var singles = file["singles"];
        Assert.Equal(MatClass.Single, singles.Class);
        Assert.Equal([0.5, -1.25, 3.0], singles.Real.ToArray());

        var flags = file["flags"];
        Assert.True(flags.IsLogical);
        Assert.Equal([1.0, 0, 1], flags.Real.ToArray());

        var rows = file["rows"];
        Assert.Equal(MatClass.Char, rows.Class);
        Assert.Equal([2, 3], rows.Dimensions);
        Assert.Equal("axbycz", rows.Text);
        Assert.Equal(["abc", "xyz"], rows.Rows());
    }

    [Fact]
    public void CompressedAndPlainFilesAgree()
    {
        var plain = MatFile.Read(EvaluationData.Path("mpii_gt_small.mat"));
        var packed = MatFile.Read(EvaluationData.Path("mpii_gt_small_compressed.mat"));
        Assert.Equal(plain.Variables.Keys, packed.Variables.Keys);
        foreach (var name in new[] { "headboxes_src", "jnt_missing", "pos_gt_src", "small_ints", "singles" })
            Assert.Equal(plain[name].Real.ToArray(), packed[name].Real.ToArray());
    }

    [Fact]
    public void ReadsBigEndianSmallElementsAndNarrowStorage()
    {
        var file = MatFile.Read(EvaluationData.Path("mat_big_endian.mat"));
        var be = file["be"];
        Assert.Equal(MatClass.Double, be.Class); // values stored as uint8 in a small data element
        Assert.Equal([1.0, 2, 250], be.Real.ToArray());
        var i32 = file["i32"];
        Assert.Equal(MatClass.Int32, i32.Class); // values stored as int16
        Assert.Equal([-1.0, 2, -300, 4], i32.Real.ToArray());
        Assert.Equal("hi", file["text"].Text);
        Assert.Equal([1.5, -2.75], file["dbl"].Real.ToArray());
    }

    [Fact]
    public void LoadsMpiiRecords()
    {
        foreach (var name in new[] { "mpii_gt_small.mat", "mpii_gt_small_compressed.mat" })
        {
            var records = MpiiGroundTruth.Load(EvaluationData.Path(name));
            Assert.Equal(3, records.Count);
            // Record 1: head box (110, 51) - (140, 91): 30 x 40, diagonal 50, head size 0.6 x 50 = 30.
            Assert.Equal([110.0, 51, 140, 91], records[1].HeadBox);
            Assert.Equal(30, records[1].HeadSize, 12);
            Assert.Equal(200 + 15 + 0.25 + 100, records[1].Joints[30]);
            Assert.Equal(300 + 30 + 0.5 + 1, records[1].Joints[31]);
            Assert.True(records[1].Missing[3]);
            Assert.Equal(1, records[1].Missing.Count(m => m));
            Assert.Equal([6, 7], Enumerable.Range(0, 16).Where(j => records[2].Missing[j]));
        }
    }

    [Fact]
    public void MissingVariableNamesFileAndVariable()
    {
        var path = EvaluationData.Path("mat_big_endian.mat");
        var e = Assert.Throws<KeyNotFoundException>(() => MatFile.Read(path)["headboxes_src"]);
        Assert.Contains(path, e.Message);
        Assert.Contains("headboxes_src", e.Message);
    }

    [Fact]
    public void TruncatedAndForeignFilesAreRejected()
    {
        var bytes = File.ReadAllBytes(EvaluationData.Path("mpii_gt_small.mat"));
        var truncated = Assert.Throws<FormatException>(() =>
            MatFile.Read(new MemoryStream(bytes[..(bytes.Length - 40)]), "cut.mat"));
        Assert.Contains("cut.mat", truncated.Message);

        var compressed = File.ReadAllBytes(EvaluationData.Path("mpii_gt_small_compressed.mat"));
        compressed[200] ^= 0xFF; // corrupt the zlib stream of the first variable
        Assert.Throws<FormatException>(() => MatFile.Read(new MemoryStream(compressed), "bad.mat"));

        var text = Assert.Throws<FormatException>(() =>
            MatFile.Read(new MemoryStream(new byte[200]), "zeros.mat"));
        Assert.Contains("not a level-5 MAT-file", text.Message);
    }

    [Theory]
    [InlineData("mpii_gt_small.mat")]
    [InlineData("mpii_gt_small_compressed.mat")]
    [InlineData("mat_big_endian.mat")]
    public void CorruptedBytesFailOnlyWithFormatException(string name)
    {
        // Any damage must surface as a FormatException (or read as different values), never as a crash.
        var original = File.ReadAllBytes(EvaluationData.Path(name));
        var random = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
                bytes[128 + random.Next(bytes.Length - 128)] = (byte)random.Next(256);
            try
            {
                MatFile.Read(new MemoryStream(bytes), "damaged.mat");
            }
            catch (FormatException e)
            {
                Assert.Contains("damaged.mat", e.Message);
            }
        }
    }
}
