using Distill.Torch.Interop;

namespace Distill.Torch;

/// <summary>A seeded CPU random generator. Its state can be saved and restored for exact resumption.</summary>
public sealed class Generator : IDisposable
{
    internal GeneratorHandle Handle { get; }

    public Generator(ulong seed)
    {
        Handle = Native.distill_generator_new(seed);
        if (Handle.IsInvalid) throw Native.TakeError();
    }

    public void ManualSeed(ulong seed) => Native.Check(Native.distill_generator_manual_seed(Handle, seed));

    /// <summary>The generator state as a uint8 tensor (as PyTorch's get_state).</summary>
    public Tensor GetState() => new(Native.distill_generator_get_state(Handle));

    public void SetState(Tensor state) => Native.Check(Native.distill_generator_set_state(Handle, state.Handle));

    public byte[] GetStateBytes()
    {
        using var s = GetState();
        return s.ToArray<byte>();
    }

    public void SetStateBytes(byte[] state)
    {
        using var t = torch.FromArray(state, [state.Length]);
        SetState(t);
    }

    public void Dispose() => Handle.Dispose();
}
