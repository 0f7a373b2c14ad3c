namespace Distill.Torch.Serialization;

/// <summary>
/// A pickle that names a global able to run code or touch the system (os.system, builtins.eval, subprocess.Popen,
/// ...). Distill never executes pickled code, but such a reference means the file was crafted to attack a Python
/// reader, so it is refused outright rather than kept as an inert placeholder.
/// </summary>
public sealed class UnsafePickleException : CheckpointFormatException
{
    public UnsafePickleException(string filePath, string module, string name, long position)
        : base(filePath, $"refused pickle global '{module}.{name}' at byte {position} of the pickle: " +
                         $"module '{module}' can run code or reach the system, so this file is treated as hostile")
    {
        Module = module;
        Name = name;
        Position = position;
    }

    public string Module { get; }

    public string Name { get; }

    /// <summary>Byte offset of the GLOBAL / STACK_GLOBAL opcode inside the pickle stream.</summary>
    public long Position { get; }
}
