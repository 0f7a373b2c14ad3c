namespace Distill.Training.Tests.Logging;

/// <summary>
/// A file stream that behaves like a disk running out of space: once <see cref="Budget"/> bytes are used up, a write
/// stores the bytes that still fit and then fails with ENOSPC's message, as a real short write would.
/// </summary>
internal sealed class FullDiskStream(FileStream inner) : Stream
{
    public long Budget { get; set; } = long.MaxValue;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length <= Budget)
        {
            inner.Write(buffer);
            Budget -= buffer.Length;
            return;
        }
        inner.Write(buffer[..(int)Budget]);
        inner.Flush();
        Budget = 0;
        throw new IOException("No space left on device");
    }

    public override bool CanRead => false;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => true;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() => inner.Flush();
    public override void SetLength(long value) => inner.SetLength(value);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
