using System.Diagnostics;

namespace Distill.Training.Engine;

/// <summary>
/// The run directory and its lock: a live lock file (holding the owner's process id) refuses a second run into the
/// same directory; a lock left by a dead process is taken over.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public string Path { get; }
    private readonly FileStream? _lock;

    private RunDirectory(string path, FileStream? lockStream)
    {
        Path = path;
        _lock = lockStream;
    }

    public static RunDirectory Open(string path)
    {
        Directory.CreateDirectory(path);
        var lockPath = System.IO.Path.Combine(path, ".lock");
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                var fs = new FileStream(lockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 64, FileOptions.DeleteOnClose);
                var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                fs.Write(pid);
                fs.Flush();
                RemoveOrphans(path);
                return new RunDirectory(path, fs);
            }
            catch (IOException) when (File.Exists(lockPath))
            {
                int owner = ReadPid(lockPath);
                if (owner > 0 && IsAlive(owner))
                    throw new TrainingException($"{path} is in use by another run (process {owner}, lock file {lockPath})");
                File.Delete(lockPath); // stale: its process is gone
            }
        }
        throw new TrainingException($"cannot lock {path}");
    }

    /// <summary>The directory of a run that another process (data-parallel rank 0) has locked and writes; this one only reads it.</summary>
    public static RunDirectory Unlocked(string path) => new(path, null);

    /// <summary>
    /// Deletes the temporary files of writes that a killed process left unfinished (".NAME.ID.tmp", see
    /// SafeTensors.Save). Only the lock holder may: a live writer's file would otherwise vanish under it.
    /// </summary>
    private static void RemoveOrphans(string path)
    {
        foreach (var file in Directory.EnumerateFiles(path, ".*.tmp"))
        {
            try { File.Delete(file); }
            catch (IOException) { /* left for the next start */ }
        }
    }

    private static int ReadPid(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(fs);
            return int.TryParse(r.ReadToEnd().Trim(), out var pid) ? pid : -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose() => _lock?.Dispose();
}
