using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

internal static class CodecAssert
{
    /// <summary>Element-wise |expected - actual| &lt;= tolerance; NaN must meet NaN. Reports the worst element.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int worst = -1;
        double worstError = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(expected[i]) || float.IsNaN(actual[i]))
            {
                Assert.True(float.IsNaN(expected[i]) && float.IsNaN(actual[i]), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
                continue;
            }
            double e = Math.Abs((double)expected[i] - actual[i]);
            if (e > worstError) (worst, worstError) = (i, e);
        }
        Assert.True(worstError <= tolerance,
            $"{what}: worst error {worstError:G6} at [{worst}] (expected {(worst >= 0 ? expected[worst] : 0)}, got {(worst >= 0 ? actual[worst] : 0)}), tolerance {tolerance:G3}");
    }

    /// <summary>
    /// Compares decoded keypoints and scores with mmpose's values. A tolerance of 0 demands bit equality after
    /// rounding mmpose's value to float32 (UDP returns float64 keypoints; Distill's are float32).
    /// </summary>
    public static void Decoded(double[,,] expectedKeypoints, double[,] expectedScores, DecodedKeypoints actual, double keypointTolerance, string what)
    {
        int n = expectedKeypoints.GetLength(0), k = expectedKeypoints.GetLength(1);
        Assert.Equal(n, actual.Count);
        Assert.Equal(k, actual.NumKeypoints);
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                for (int c = 0; c < 2; c++)
                {
                    double e = expectedKeypoints[b, j, c], a = actual.Keypoints[b, j, c];
                    if (double.IsNaN(e)) Assert.True(double.IsNaN(a), $"{what}: keypoint [{b},{j},{c}] expected NaN, got {a}");
                    else Assert.True(keypointTolerance == 0 ? (float)e == (float)a : Math.Abs(e - a) <= keypointTolerance,
                        $"{what}: keypoint [{b},{j},{c}] expected {e:R}, got {a:R}");
                }
                // Scores are maxima of the same float32 data: exact.
                Assert.True((float)expectedScores[b, j] == actual.Scores[b, j] || (double.IsNaN(expectedScores[b, j]) && float.IsNaN(actual.Scores[b, j])),
                    $"{what}: score [{b},{j}] expected {expectedScores[b, j]:R}, got {actual.Scores[b, j]:R}");
            }
        }
    }
}
