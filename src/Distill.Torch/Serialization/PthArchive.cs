using System.IO.Compression;
using System.Text;

namespace Distill.Torch.Serialization;

/// <summary>
/// An open torch.save archive (PyTorch 1.6+ zip layout): <c>&lt;prefix&gt;/data.pkl</c> holds the pickled object
/// tree, and each storage it references by persistent id is the member <c>&lt;prefix&gt;/data/&lt;key&gt;</c>.
/// Stored (uncompressed) members are read in place with <see cref="torch.FromFile"/>; a compressed member is
/// inflated into memory once.
/// </summary>
internal sealed class PthArchive : IDisposable
{
    // torch.save's legacy (pre-1.6) format starts with a pickled magic number: PROTO 2, LONG1 of 10 bytes.
    private static readonly byte[] LegacyMagic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    private readonly FileStream _fs;
    private readonly string _fullPath;
    private readonly Dictionary<string, ZipMember> _members;
    private readonly Dictionary<string, long> _dataOffsets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _inflated = new(StringComparer.Ordinal);
    private readonly HashSet<string> _verified = new(StringComparer.Ordinal);
    private ZipArchive? _zip;

    private PthArchive(string path, string fullPath, FileStream fs, Dictionary<string, ZipMember> members, string prefix)
    {
        FilePath = path;
        _fullPath = fullPath;
        _fs = fs;
        _members = members;
        Prefix = prefix;
    }

    public string FilePath { get; }

    /// <summary>The archive's top folder (torch.save uses the file stem or "archive").</summary>
    public string Prefix { get; }

    public static PthArchive Open(string path)
    {
        string full = Path.GetFullPath(path);
        var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            CheckMagic(fs, path);
            var members = ZipDirectory.Read(fs, path);
            var pkl = members.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - 9).ToList();
            if (pkl.Count == 0) throw new CheckpointFormatException(path, "zip archive without a '<name>/data.pkl' member: not written by torch.save");
            if (pkl.Count > 1) throw new CheckpointFormatException(path, $"zip archive with several pickles ({string.Join(", ", pkl)})");
            var archive = new PthArchive(path, full, fs, members, pkl[0][..^9]);
            archive.CheckByteOrder();
            return archive;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private static void CheckMagic(FileStream fs, string path)
    {
        Span<byte> head = stackalloc byte[LegacyMagic.Length];
        int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
        if (head.SequenceEqual(LegacyMagic))
            throw new CheckpointFormatException(path,
                "PyTorch's legacy (pre-1.6) serialization format is not supported. Re-save it with a recent PyTorch, " +
                "which writes the zip format: torch.save(torch.load(f), f2)");
        if (n > 0 && head[0] == 0x80)
            throw new CheckpointFormatException(path, "a bare pickle, not a torch.save zip archive");
        throw new CheckpointFormatException(path, n == 0 ? "the file is empty" : "not a torch.save zip archive (no zip signature at the start)");
    }

    private void CheckByteOrder()
    {
        if (!_members.TryGetValue(Prefix + "/byteorder", out var m)) return;
        if (m.UncompressedSize > 16) throw new CheckpointFormatException(FilePath, "byteorder member is too long");
        string order = Encoding.ASCII.GetString(ReadMember(m)).Trim();
        if (order != "little")
            throw new CheckpointFormatException(FilePath, $"tensors are stored '{order}'-endian; only little-endian archives are supported");
    }

    /// <summary>Runs the restricted unpickler over data.pkl; each tensor it describes goes through makeTensor.</summary>
    public object? Unpickle(Func<StoredTensor, object> makeTensor)
    {
        var pkl = _members[Prefix + "/data.pkl"];
        var data = ReadMember(pkl);
        return new RestrictedUnpickler(data, FilePath, PersistentLoad, makeTensor).Run();
    }

    // Persistent ids are ('storage', storage_class, key, location, numel).
    private object PersistentLoad(object?[] pid, long position)
    {
        if (pid.Length != 5 || pid[0] is not "storage" || pid[2] is not string key || pid[4] is not long numel)
            throw new CheckpointFormatException(FilePath,
                $"pickle byte {position}: unsupported persistent id ({string.Join(", ", pid.Select(RestrictedUnpickler.Describe))})");
        if (pid[1] is not TorchStorageType type)
            return new PickleObject(pid[1] ?? "None", pid); // a storage kind Distill has no dtype for (complex, quantized)
        if (!_members.TryGetValue(StorageMember(key), out var member))
            throw new CheckpointFormatException(FilePath, $"pickle byte {position}: storage '{key}' has no member '{StorageMember(key)}'");
        long need;
        try { need = checked(numel * type.DType.ElementSize()); }
        catch (OverflowException) { need = -1; }
        if (numel < 0 || need < 0 || need > member.UncompressedSize)
            throw new CheckpointFormatException(FilePath,
                $"storage '{key}' claims {numel} elements of {type} but its member holds {member.UncompressedSize} bytes");
        return new StorageRef(key, type.DType, numel, type.Untyped);
    }

    private string StorageMember(string key) => Prefix + "/data/" + key;

    /// <summary>Reads one tensor; the caller owns the result.</summary>
    public Tensor Materialize(StoredTensor t)
    {
        try
        {
            if (t.NumEl == 0) return torch.Empty(t.Shape, t.DType);
            long item = t.DType.ElementSize();
            long first = checked(t.StorageOffset * item);
            long nbytes = checked((t.EndElement - t.StorageOffset) * item);
            var member = _members[StorageMember(t.Storage.Key)];
            if (member.IsStored)
            {
                Verify(member);
                return torch.FromFile(_fullPath, DataOffset(member) + first, nbytes, t.DType, t.Shape, t.Strides);
            }
            var bytes = Inflated(member);
            if (first + nbytes > bytes.Length)
                throw new CheckpointFormatException(FilePath, $"{t} reads past the end of its storage");
            return torch.FromBytes(bytes.AsSpan((int)first, (int)nbytes), t.DType, t.Shape, t.Strides);
        }
        catch (TorchException ex)
        {
            throw new CheckpointFormatException(FilePath, $"cannot read {t}: {ex.Message}", ex);
        }
    }

    private long DataOffset(ZipMember m)
    {
        if (!_dataOffsets.TryGetValue(m.Name, out long off))
            _dataOffsets[m.Name] = off = ZipDirectory.DataOffset(_fs, m, FilePath);
        return off;
    }

    private byte[] ReadMember(ZipMember m)
    {
        if (m.UncompressedSize > Array.MaxLength)
            throw new CheckpointFormatException(FilePath, $"member '{m.Name}' of {m.UncompressedSize} bytes is too large to read into memory");
        if (!m.IsStored) return Inflated(m);
        if (m.CompressedSize != m.UncompressedSize)
            throw new CheckpointFormatException(FilePath, $"stored member '{m.Name}' has different compressed and uncompressed sizes");
        var data = ZipDirectory.ReadAt(_fs, DataOffset(m), (int)m.CompressedSize);
        CheckCrc(m, Crc32.Compute(data));
        return data;
    }

    /// <summary>Checks a stored member's bytes against the CRC-32 of its directory entry, once per member.</summary>
    private void Verify(ZipMember m)
    {
        if (!_verified.Add(m.Name)) return;
        var buffer = new byte[1 << 20];
        _fs.Position = DataOffset(m);
        uint crc = 0;
        for (long left = m.CompressedSize; left > 0;)
        {
            int n = _fs.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n <= 0) throw new CheckpointFormatException(FilePath, $"member '{m.Name}' ends early (truncated?)");
            crc = Crc32.Append(crc, buffer.AsSpan(0, n));
            left -= n;
        }
        CheckCrc(m, crc);
    }

    private void CheckCrc(ZipMember m, uint actual)
    {
        // A flipped bit in a tensor would otherwise load as a silently different weight.
        if (actual != m.Crc32)
            throw new CheckpointFormatException(FilePath,
                $"member '{m.Name}' fails its CRC-32 check (stored {m.Crc32:x8}, computed {actual:x8}): the file is damaged; refusing to load it");
    }

    private byte[] Inflated(ZipMember m)
    {
        if (_inflated.TryGetValue(m.Name, out var cached)) return cached;
        if (m.UncompressedSize > Array.MaxLength)
            throw new CheckpointFormatException(FilePath, $"compressed member '{m.Name}' of {m.UncompressedSize} bytes is too large to inflate in memory");
        try
        {
            _zip ??= new ZipArchive(new FileStream(_fullPath, FileMode.Open, FileAccess.Read, FileShare.Read), ZipArchiveMode.Read);
            var entry = _zip.GetEntry(m.Name) ?? throw new CheckpointFormatException(FilePath, $"member '{m.Name}' not found by the zip reader");
            var bytes = new byte[m.UncompressedSize];
            using (var s = entry.Open()) s.ReadExactly(bytes);
            CheckCrc(m, Crc32.Compute(bytes));
            _inflated[m.Name] = bytes;
            return bytes;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or NotSupportedException)
        {
            throw new CheckpointFormatException(FilePath, $"cannot inflate member '{m.Name}': {ex.Message}", ex);
        }
    }

    public void Dispose()
    {
        _zip?.Dispose();
        _fs.Dispose();
    }
}
