using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>Tensor forms of the flip-back operations, for flip tests that stay on the device.</summary>
internal static class FlipTensors
{
    public static Tensor IndexTensor(IReadOnlyList<int> flipIndices, Device device)
    {
        var idx = new long[flipIndices.Count];
        for (int i = 0; i < idx.Length; i++) idx[i] = flipIndices[i];
        return torch.FromArray(idx, [idx.Length], device);
    }

    /// <summary>(N, K, H, W): mirror the width, swap channels, and optionally shift one column to the right.</summary>
    public static Tensor Heatmaps(Tensor heatmaps, IReadOnlyList<int> flipIndices, bool shift)
    {
        using var index = IndexTensor(flipIndices, heatmaps.Device);
        using var mirrored = heatmaps.Flip(-1);
        var swapped = mirrored.IndexSelect(1, index);
        if (!shift) return swapped;
        using (swapped)
        {
            long w = swapped.Size(-1);
            using var first = swapped.Narrow(-1, 0, 1);
            using var rest = swapped.Narrow(-1, 0, w - 1);
            return torch.Cat([first, rest], -1);
        }
    }

    /// <summary>(N, K, D) normalised coordinates: x becomes 1 - x (minus one pixel when shifting), channels swap.</summary>
    public static Tensor Coordinates(Tensor coords, IReadOnlyList<int> flipIndices, double shift)
    {
        using var index = IndexTensor(flipIndices, coords.Device);
        using var swapped = coords.IndexSelect(1, index);
        using var x = swapped.Narrow(-1, 0, 1);
        using var mirrored = 1.0 - x;
        using var shifted = mirrored - shift;
        using var rest = swapped.Narrow(-1, 1, swapped.Size(-1) - 1);
        return torch.Cat([shifted, rest], -1);
    }
}
