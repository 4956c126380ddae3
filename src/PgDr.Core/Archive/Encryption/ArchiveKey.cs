using System.Runtime.InteropServices;
using System.Security.Cryptography;
using PgDr.Errors;

namespace PgDr.Archive.Encryption;

/// <summary>
/// The 256-bit archive key. It comes from a key file, an environment variable or secret text the caller holds
/// (a cmdlet's SecureString, e.g. from SecretManagement), never from a command line (archive_command ends up in
/// postgresql.auto.conf and ps output). The key material never appears in
/// <see cref="ToString"/>, in exception messages or in error targets.
/// </summary>
/// <remarks>
/// Accepted encodings, in a file or a variable: exactly 32 bytes, used as is (files only); 64 hex digits; or
/// base64 of 32 bytes (44 characters). Whitespace around text is ignored, so <c>openssl rand -base64 32 &gt; key</c>
/// and <c>openssl rand -hex 32 &gt; key</c> both make a key file. On Unix a key file must have mode 0600 or
/// stricter (no group or other bits, no execute bit), checked on the opened handle so the file cannot be
/// swapped between the check and the read.
/// </remarks>
public sealed class ArchiveKey : IDisposable
{
    public const int Length = 32;

    // Key files are tiny; refuse to slurp something else that was named by mistake.
    private const int MaxFileLength = 4096;

    private const UnixFileMode AllowedFileModes = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // Pinned so the GC never leaves copies behind that Dispose cannot wipe.
    private readonly byte[] _material = GC.AllocateArray<byte>(Length, pinned: true);
    private bool _disposed;

    private ArchiveKey(ReadOnlySpan<byte> material, string source)
    {
        material.CopyTo(_material);
        Source = source;
    }

    /// <summary>Where the key came from (a path, a variable name), for messages. Never the key itself.</summary>
    public string Source { get; }

    /// <summary>Reads a key file; see the remarks for the format and the permission rule.</summary>
    public static ArchiveKey FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var source = $"key file {path}";
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PgDrNotFoundException(ErrorIds.ArchiveKeyNotFound, $"The archive key file '{path}' does not exist.", path);
        }
        catch (UnauthorizedAccessException ex)
        {
            // Not "not found": the file is there, and the account that needs it (archive_command runs as the server's) must be named.
            throw new PgDrArchiveException(
                ErrorIds.ArchiveKeyAccessDenied,
                PgDrErrorCategory.PermissionDenied,
                $"The archive key file '{path}' cannot be read by the OS account '{Environment.UserName}' (permission denied on the file or a directory above it).",
                path,
                ex);
        }

        using (file)
        {
            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(file.SafeFileHandle);
                if ((mode & ~AllowedFileModes) != 0)
                {
                    throw new PgDrArchiveException(
                        ErrorIds.KeyFileInsecure,
                        PgDrErrorCategory.SecurityError,
                        $"The archive key file '{path}' has mode {Octal(mode)}; a key file must be readable by its owner only: chmod 600 '{path}'.",
                        path);
                }
            }

            if (file.Length > MaxFileLength)
            {
                throw InvalidKey(source, path);
            }

            var content = new byte[file.Length];
            try
            {
                file.ReadExactly(content);
                return FromContent(content, allowRaw: true, source, path);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(content);
            }
        }
    }

    /// <summary>Reads a key from an environment variable holding hex or base64 text.</summary>
    public static ArchiveKey FromEnvironment(string variableName)
    {
        ArgumentException.ThrowIfNullOrEmpty(variableName);
        var value = Environment.GetEnvironmentVariable(variableName);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new PgDrNotFoundException(ErrorIds.ArchiveKeyNotFound, $"The environment variable {variableName} that should hold the archive key is not set.", variableName);
        }

        return FromText(value, $"environment variable {variableName}", variableName);
    }

    /// <summary>
    /// A key from secret text the caller holds (hex or base64, as in a key file; whitespace around it is ignored), such
    /// as a SecretManagement secret handed to a cmdlet. <paramref name="source"/> names where the text came from in
    /// messages (e.g. <c>-EncryptionKey</c>); it must not be the secret. The caller should wipe its own copy.
    /// </summary>
    /// <remarks>
    /// 32 raw characters are refused as with environment variables: text that long is far likelier a passphrase
    /// than 32 random bytes, and a passphrase used as a key would be a weak key. A raw key belongs in a key file.
    /// </remarks>
    public static ArchiveKey FromSecret(ReadOnlySpan<char> secret, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return FromText(secret, source, source);
    }

    /// <summary>
    /// The error for a key that was asked to be given and was not: <c>-EncryptionKey $null</c> is what a failed
    /// <c>Get-Secret</c> hands over, and falling back to the configuration's key file then would hide that failure
    /// (and read the archive with a key the caller did not choose).
    /// </summary>
    public static PgDrArgumentException Missing(string source) =>
        new(ErrorIds.ArchiveKeyRequired, $"{source} holds no key (a failed Get-Secret gives $null). Give the key, or leave {source} out to use the configuration's keyFile or keyEnv.", source);

    /// <summary>A key from raw bytes (tests, benchmarks, key generation tools).</summary>
    public static ArchiveKey FromBytes(ReadOnlySpan<byte> key, string source = "memory")
    {
        if (key.Length != Length)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchiveKey, $"An archive key is {Length} bytes, not {key.Length}.", source);
        }

        return new ArchiveKey(key, source);
    }

    /// <summary>A new random key.</summary>
    public static ArchiveKey Generate()
    {
        Span<byte> key = stackalloc byte[Length];
        RandomNumberGenerator.Fill(key);
        try
        {
            return new ArchiveKey(key, "generated");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The key material, for the cipher code only.</summary>
    internal ReadOnlySpan<byte> Material
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _material;
        }
    }

    public override string ToString() => $"archive key ({Source})";

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_material);
        }
    }

    private static ArchiveKey FromText(ReadOnlySpan<char> text, string source, string target)
    {
        if (text.Length > MaxFileLength)
        {
            throw InvalidKey(source, target);
        }

        // Pinned so the GC cannot leave a copy of the secret behind that the finally block would miss.
        var content = GC.AllocateArray<byte>(text.Length, pinned: true);
        try
        {
            for (var i = 0; i < text.Length; i++)
            {
                // Anything outside ASCII is no hex or base64 digit: NUL makes the decoders refuse it.
                content[i] = text[i] < 0x80 ? (byte)text[i] : (byte)0;
            }

            return FromContent(content, allowRaw: false, source, target);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    private static ArchiveKey FromContent(byte[] content, bool allowRaw, string source, string target)
    {
        if (allowRaw && content.Length == Length)
        {
            return new ArchiveKey(content, source);
        }

        var text = content.AsSpan().Trim("\t\n\r "u8);
        Span<byte> key = stackalloc byte[Length];
        try
        {
            if (text.Length == Length * 2 && TryDecodeHex(text, key))
            {
                return new ArchiveKey(key, source);
            }

            if (text.Length is >= 43 and <= 44)
            {
                var chars = new char[text.Length];
                try
                {
                    for (var i = 0; i < text.Length; i++)
                    {
                        chars[i] = (char)text[i];
                    }

                    if (Convert.TryFromBase64Chars(chars, key, out var written) && written == Length)
                    {
                        return new ArchiveKey(key, source);
                    }
                }
                finally
                {
                    Array.Clear(chars);
                }
            }

            throw InvalidKey(source, target);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static bool TryDecodeHex(ReadOnlySpan<byte> text, Span<byte> key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            var high = HexValue(text[2 * i]);
            var low = HexValue(text[(2 * i) + 1]);
            if (high < 0 || low < 0)
            {
                return false;
            }

            key[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    private static PgDrArchiveException InvalidKey(string source, string target) =>
        new(ErrorIds.InvalidArchiveKey, PgDrErrorCategory.InvalidData,
            $"The {source} does not hold a {Length * 8}-bit key: use exactly {Length} raw bytes (files only), 64 hex digits, or base64 of {Length} bytes.",
            target);

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
