using System.Runtime.InteropServices;

namespace Distill.Cli.Tests.Support;

/// <summary>Signals through libc's kill(2): Process.Kill only sends SIGKILL, and the tests need SIGTERM and SIGSTOP too.</summary>
public static partial class Posix
{
    // Linux numbering (x86-64 and arm64 alike).
    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
