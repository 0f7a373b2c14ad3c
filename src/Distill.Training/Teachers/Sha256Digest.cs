using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Distill.Training.Teachers;

/// <summary>
/// The one form a checkpoint's expected SHA-256 takes, in the teacher manifest and in an experiment's
/// teachers[].sha256 alike: the full 64-digit hex digest, or a prefix of at least 8 hex digits (as release file names
/// carry), either case.
/// </summary>
public static partial class Sha256Digest
{
    public const int MinPrefixLength = 8;

    /// <summary>What a valid value looks like, for error messages.</summary>
    public const string Expected = "a SHA-256 digest: 64 hexadecimal digits, or a prefix of at least 8";

    public static bool IsValid(string digest) => Pattern().IsMatch(digest);

    /// <summary>
    /// Checks <paramref name="path"/>'s SHA-256 against <paramref name="expected"/> (full digest or prefix); a mismatch
    /// throws naming <paramref name="owner"/>, the file and both digests.
    /// </summary>
    public static void Verify(string path, string expected, string owner)
    {
        if (!IsValid(expected)) throw new InvalidDataException($"{owner}: sha256 '{expected}' is not {Expected}");
        string actual;
        using (var fs = File.OpenRead(path)) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
        var want = expected.ToLowerInvariant();
        if (!actual.StartsWith(want, StringComparison.Ordinal))
            throw new InvalidDataException($"{owner}: checksum mismatch for {path}: expected sha256 {want}, got {actual}");
    }

    [GeneratedRegex("^[0-9a-fA-F]{8,64}$")]
    private static partial Regex Pattern();
}
