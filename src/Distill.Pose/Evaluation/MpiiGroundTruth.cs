namespace Distill.Pose.Evaluation;

/// <summary>
/// Reads MPII's validation ground truth (mpii_gt_val.mat): <c>headboxes_src</c> (2 x 2 x N: rows are the two
/// corners, columns x and y), <c>jnt_missing</c> (16 x N) and <c>pos_gt_src</c> (16 x 2 x N).
/// </summary>
public static class MpiiGroundTruth
{
    public static IReadOnlyList<MpiiGroundTruthRecord> Load(string path) => FromMatFile(MatFile.Read(path));

    public static IReadOnlyList<MpiiGroundTruthRecord> FromMatFile(MatFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var boxes = Numeric(file, "headboxes_src");
        var missing = Numeric(file, "jnt_missing");
        var joints = Numeric(file, "pos_gt_src");
        const int k = MpiiPckh.JointCount;

        var boxDims = Shape(file, boxes, 3);
        var missingDims = Shape(file, missing, 2);
        var jointDims = Shape(file, joints, 3);
        if (boxDims[0] != 2 || boxDims[1] != 2)
            throw new FormatException($"{file.Source}: 'headboxes_src' must be 2 x 2 x N, got {string.Join(" x ", boxes.Dimensions)}");
        if (missingDims[0] != k)
            throw new FormatException($"{file.Source}: 'jnt_missing' must be {k} x N, got {string.Join(" x ", missing.Dimensions)}");
        if (jointDims[0] != k || jointDims[1] != 2)
            throw new FormatException($"{file.Source}: 'pos_gt_src' must be {k} x 2 x N, got {string.Join(" x ", joints.Dimensions)}");
        int n = boxDims[2];
        if (missingDims[1] != n || jointDims[2] != n)
            throw new FormatException(
                $"{file.Source}: record counts disagree: headboxes_src {n}, jnt_missing {missingDims[1]}, pos_gt_src {jointDims[2]}");

        var records = new MpiiGroundTruthRecord[n];
        for (int i = 0; i < n; i++)
        {
            var box = new[] { boxes[0, 0, i], boxes[0, 1, i], boxes[1, 0, i], boxes[1, 1, i] };
            var pos = new double[2 * k];
            var miss = new bool[k];
            for (int j = 0; j < k; j++)
            {
                pos[2 * j] = joints[j, 0, i];
                pos[2 * j + 1] = joints[j, 1, i];
                miss[j] = missing[j, i] != 0;
            }
            records[i] = new MpiiGroundTruthRecord(box, pos, miss);
        }
        return records;
    }

    private static MatArray Numeric(MatFile file, string name)
    {
        var array = file[name];
        if (!array.IsNumeric)
            throw new FormatException($"{file.Source}: '{name}' must be a numeric array, found {array.Class}");
        return array;
    }

    private static int[] Shape(MatFile file, MatArray array, int rank)
    {
        try
        {
            return array.DimensionsAsRank(rank);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException(e.Message, e); // the message names the file already
        }
    }
}
