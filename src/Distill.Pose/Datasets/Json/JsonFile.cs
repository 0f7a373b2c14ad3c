using System.Text.Json;

namespace Distill.Pose.Datasets.Json;

/// <summary>
/// Reads an annotation file into a <see cref="JsonDocument"/>, turning every failure into a
/// <see cref="DatasetException"/> that names the file and, for syntax errors, the line and byte.
/// </summary>
internal static class JsonFile
{
    // Python's json module writes non-finite floats as bare NaN / Infinity / -Infinity, which is not JSON.
    // They are rewritten to same-length string sentinels so that byte positions in error messages stay exact,
    // and JsonRecord turns the sentinels back into doubles (where the reader then counts them as non-finite).
    internal const string NaNSentinel = "N";
    internal const string PositiveInfinitySentinel = "Infini";
    internal const string NegativeInfinitySentinel = "-Infini";

    public static JsonDocument Parse(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new DatasetException(path, null, null, null, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, null, null, null, "cannot read the file: " + e.Message, e);
        }
        return Parse(bytes, path);
    }

    public static JsonDocument Parse(byte[] bytes, string path)
    {
        // A UTF-8 byte order mark becomes whitespace (same length, so positions do not move).
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
            bytes[0] = bytes[1] = bytes[2] = (byte)' ';
        QuoteNonFiniteLiterals(bytes);
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            long line = (e.LineNumber ?? 0) + 1, column = (e.BytePositionInLine ?? 0) + 1;
            throw new DatasetException(path, null, null, null,
                $"malformed JSON at line {line}, byte {column}: {StripPosition(e.Message)}", e, line, column);
        }
    }

    private static string StripPosition(string message)
    {
        // System.Text.Json appends " LineNumber: a | BytePositionInLine: b." which we already report 1-based.
        int i = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    private static void QuoteNonFiniteLiterals(byte[] b)
    {
        bool inString = false;
        for (int i = 0; i < b.Length; i++)
        {
            byte c = b[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            else if (c == 'N') Replace(b, i, "NaN", NaNSentinel);
            else if (c == 'I') Replace(b, i, "Infinity", PositiveInfinitySentinel);
            else if (c == '-' && i + 1 < b.Length && b[i + 1] == 'I') Replace(b, i, "-Infinity", NegativeInfinitySentinel);
        }
    }

    private static void Replace(byte[] b, int at, string literal, string sentinel)
    {
        if (at + literal.Length > b.Length) return;
        for (int j = 0; j < literal.Length; j++)
            if (b[at + j] != literal[j]) return;
        // Only a whole token: the next byte must end the value.
        int end = at + literal.Length;
        if (end < b.Length && (char.IsAsciiLetterOrDigit((char)b[end]) || b[end] == '_')) return;
        b[at] = (byte)'"';
        for (int j = 0; j < sentinel.Length; j++) b[at + 1 + j] = (byte)sentinel[j];
        b[end - 1] = (byte)'"';
    }
}
