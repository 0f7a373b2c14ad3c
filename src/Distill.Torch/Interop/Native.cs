using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

/// <summary>
/// The imports of the native shim, one partial file per native source file. Nothing outside this folder sees a raw
/// pointer: tensors come back as <see cref="TensorHandle"/> and every call is checked.
/// </summary>
internal static partial class Native
{
    internal const string Lib = "distill_native";

    /// <summary>Throws the native error of this thread if the call reported one through a null handle.</summary>
    internal static TensorHandle Check(TensorHandle h)
    {
        if (h.IsInvalid) throw TakeError();
        return h;
    }

    internal static int Check(int status)
    {
        if (status < 0) throw TakeError();
        return status;
    }

    internal static long Check(long status)
    {
        if (status < 0) throw TakeError();
        return status;
    }

    internal static IntPtr CheckPtr(IntPtr p)
    {
        if (p == IntPtr.Zero) throw TakeError();
        return p;
    }

    internal static TorchException TakeError()
    {
        var msg = Marshal.PtrToStringUTF8(distill_last_error()) ?? "native call failed without a message";
        distill_clear_error();
        return new TorchException(msg.Trim());
    }
}
