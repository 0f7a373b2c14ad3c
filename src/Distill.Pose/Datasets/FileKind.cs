using System.Runtime.InteropServices;

namespace Distill.Pose.Datasets;

/// <summary>What a path names, without opening it: opening a FIFO blocks until a writer appears, and a device never ends.</summary>
public enum FileKindType
{
    Missing,
    Regular,
    Directory,
    /// <summary>A FIFO, socket, character or block device.</summary>
    Special,
}

/// <summary>The type and size of a file as stat reports them (symbolic links followed).</summary>
public static class FileKind
{
    public static (FileKindType Kind, long Size) Of(string path)
    {
        if (OperatingSystem.IsLinux() && TryStatx(path, out var kind, out long size)) return (kind, size);
        // Elsewhere: FileInfo knows directories and sizes; special files there are not a dataset hazard worth a native call.
        var info = new FileInfo(path);
        if (info.Exists) return (FileKindType.Regular, info.Length);
        return Directory.Exists(path) ? (FileKindType.Directory, 0) : (FileKindType.Missing, 0);
    }

    /// <summary>A description of the type for messages ("a FIFO", "a character device", ...).</summary>
    public static string Describe(string path)
    {
        if (!OperatingSystem.IsLinux()) return "not a regular file";
        var buf = new byte[StatxSize];
        if (Statx(AtFdCwd, path, 0, StatxType, buf) != 0) return "not a regular file";
        return (BitConverter.ToUInt16(buf, ModeOffset) & 0xF000) switch
        {
            0x1000 => "a FIFO",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a directory",
            _ => "not a regular file",
        };
    }

    // statx(2) has one layout on every Linux architecture (unlike struct stat): stx_mode is a u16 at byte 28 and
    // stx_size a u64 at byte 40 of a 256-byte record.
    private const int StatxSize = 256, ModeOffset = 28, SizeOffset = 40, AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxSizeMask = 0x200;
    private static bool _statxMissing;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);

    private static bool TryStatx(string path, out FileKindType kind, out long size)
    {
        kind = FileKindType.Missing;
        size = 0;
        if (_statxMissing) return false;
        var buf = new byte[StatxSize];
        int rc;
        try
        {
            rc = Statx(AtFdCwd, path, 0, StatxType | StatxSizeMask, buf);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _statxMissing = true; // a C library without statx (glibc before 2.28): fall back to FileInfo
            return false;
        }
        if (rc != 0)
        {
            // ENOENT / ENOTDIR: nothing there. Other errors (EACCES, ...) leave the open to report them.
            int errno = Marshal.GetLastPInvokeError();
            if (errno is 2 or 20) return true;
            return false;
        }
        int type = BitConverter.ToUInt16(buf, ModeOffset) & 0xF000;
        kind = type switch
        {
            0x8000 => FileKindType.Regular,
            0x4000 => FileKindType.Directory,
            _ => FileKindType.Special,
        };
        size = (long)BitConverter.ToUInt64(buf, SizeOffset);
        return true;
    }
}
