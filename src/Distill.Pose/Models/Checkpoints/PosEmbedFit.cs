using Distill.Pose.Models.Backbones;
using Distill.Torch;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Fits a (1, N, C) patch position embedding to a model's patch grid. A checkpoint stores only N, so the grid it
/// was trained on is inferred: the model's own grid when N matches, else the grid of N cells with the model's
/// aspect ratio (a ViTPose model trained at another resolution), else a square grid (ImageNet pre-training).
/// </summary>
internal static class PosEmbedFit
{
    /// <summary>The grid of <paramref name="tokens"/> cells, or null when none of the three candidates fits.</summary>
    public static (long H, long W)? InferGrid(long tokens, (long H, long W) target)
    {
        if (tokens <= 0) return null;
        if (tokens == target.H * target.W) return target;
        // Same aspect ratio p:q (reduced) means tokens = p * q * k^2 for a whole k.
        long g = Gcd(target.H, target.W), p = target.H / g, q = target.W / g;
        if (tokens % (p * q) == 0)
        {
            long k = ISqrt(tokens / (p * q));
            if (k * k == tokens / (p * q)) return (p * k, q * k);
        }
        long s = ISqrt(tokens);
        return s * s == tokens ? (s, s) : null;
    }

    /// <summary>
    /// Resizes <paramref name="pos"/> to <paramref name="target"/> when its grid differs (bicubic, as
    /// <see cref="VisionTransformer.ResizePosEmbed"/>); returns a new tensor, or null when the grid cannot be inferred.
    /// </summary>
    public static Tensor? Fit(Tensor pos, (long H, long W) target, string key, KeyMapBuilder notes)
    {
        long n = pos.Size(1);
        if (InferGrid(n, target) is not { } from)
        {
            notes.Note($"'{key}' holds {n} positions, which form no grid of the model's {target.H}x{target.W} aspect " +
                "ratio nor a square one; it is left as stored");
            return null;
        }
        if (from == target) return pos.Alias();
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        // Bicubic interpolation wants single or double precision on every device.
        var src = pos.DType is DType.Float32 or DType.Float64 ? pos : pos.To(DType.Float32);
        var resized = VisionTransformer.ResizePosEmbed(src, from, target);
        notes.Note($"'{key}' resized bicubically from a {from.H}x{from.W} to a {target.H}x{target.W} patch grid");
        return resized.DetachFromDisposeScope();
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private static long ISqrt(long n)
    {
        long r = (long)Math.Sqrt(n);
        while (r * r > n) r--;
        while ((r + 1) * (r + 1) <= n) r++;
        return r;
    }
}
