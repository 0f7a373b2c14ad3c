using Distill.Torch.Interop;

namespace Distill.Torch.Optim;

/// <summary>Whole-model gradient operations (torch.nn.utils.clip_grad_norm_ and a finiteness guard).</summary>
public static class Gradients
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> in place so that their joint norm is at most
    /// <paramref name="maxNorm"/>: the norm of the per-tensor norms (max of maxima for infinity), coefficient
    /// min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping; parameters without a gradient
    /// are ignored, and with none at all the result is 0.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max_norm must be > 0");
        return NormAndClip(parameters, maxNorm, normType);
    }

    /// <summary>Clamps every gradient element of <paramref name="parameters"/> to [-clip, clip] in place
    /// (torch.nn.utils.clip_grad_value_); parameters without a gradient are skipped.</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clip)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clip > 0)) throw new ArgumentOutOfRangeException(nameof(clip), clip, "clip value must be > 0");
        foreach (var p in parameters)
        {
            using var g = p.Grad;
            g?.Clamp_(-clip, clip);
        }
    }

    /// <summary>
    /// The joint norm of the gradients of <paramref name="parameters"/>, computed as <see cref="ClipGradNorm"/> does,
    /// without changing them (what training logs as grad_norm when it does not clip).
    /// </summary>
    public static double TotalNorm(IEnumerable<Tensor> parameters, double normType = 2) => NormAndClip(parameters, 0, normType);

    /// <summary>The joint gradient norm, clipping to <paramref name="maxNorm"/> when it is positive (0: measure only).</summary>
    private static unsafe double NormAndClip(IEnumerable<Tensor> parameters, double maxNorm, double normType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "norm_type must be > 0 or +inf");
        var ps = parameters.ToArray();
        using var h = new HandleArray(ps);
        double total;
        fixed (IntPtr* p = h.Pointers) Native.Check(Native.distill_clip_grad_norm(p, ps.Length, maxNorm, normType, out total));
        return total;
    }

    /// <summary>True when no gradient of <paramref name="parameters"/> holds a NaN or an infinity.</summary>
    public static unsafe bool GradsAreFinite(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var ps = parameters.ToArray();
        using var h = new HandleArray(ps);
        fixed (IntPtr* p = h.Pointers) return Native.Check(Native.distill_grads_finite(p, ps.Length)) == 1;
    }
}
