namespace Distill.Onnx.Tests.Support;

public static class Expect
{
    /// <summary>Every |expected - actual| is within <paramref name="tolerance"/>; the failure names the worst element.</summary>
    public static void Close(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            if (d > worst)
            {
                worst = d;
                at = i;
            }
        }
        Assert.True(worst <= tolerance, $"{what}: max |diff| {worst:G4} at element {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}), tolerance {tolerance}");
    }

    public static void Shape(long[] expected, long[] actual, string what) =>
        Assert.True(expected.SequenceEqual(actual), $"{what}: shape [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");

    /// <summary>Bitwise-equal float arrays (decoders must agree exactly).</summary>
    public static void Identical(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
    }

    public static float[] Flatten(float[,,] a) => a.Cast<float>().ToArray();

    public static float[] Flatten(float[,] a) => a.Cast<float>().ToArray();
}
