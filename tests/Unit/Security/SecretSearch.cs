using System.Text;

namespace PgDr.Tests.Security;

/// <summary>
/// A recognisable password (it starts with <see cref="Marker"/>) and an archive key, and the searches for them: in text
/// (outputs, messages, argument lists) and in the bytes of files, as hex either way, base64 and raw key bytes.
/// </summary>
internal sealed class SecretSearch
{
    public const string Marker = "PgDrSecretMarker";

    private readonly byte[][] _needles;

    public SecretSearch(string keyHex)
    {
        KeyHex = keyHex;
        var keyBytes = Convert.FromHexString(keyHex);
        KeyBase64 = Convert.ToBase64String(keyBytes);
        _needles = [Encoding.UTF8.GetBytes(Marker), Encoding.UTF8.GetBytes(keyHex.ToUpperInvariant()), Encoding.UTF8.GetBytes(keyHex.ToLowerInvariant()), Encoding.UTF8.GetBytes(KeyBase64), keyBytes];
    }

    public string KeyHex { get; }

    public string KeyBase64 { get; }

    /// <summary>A new password that the searches recognise.</summary>
    public static string NewPassword() => Marker + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public void AssertAbsent(string where, string text)
    {
        Assert.False(text.Contains(Marker, StringComparison.Ordinal), $"{where} holds the password");
        Assert.False(text.Contains(KeyHex, StringComparison.OrdinalIgnoreCase), $"{where} holds the archive key");
        Assert.False(text.Contains(KeyBase64, StringComparison.Ordinal), $"{where} holds the archive key (base64)");
    }

    /// <summary>"the password" or "the archive key" when <paramref name="content"/> holds one, else null.</summary>
    public string? Holder(byte[] content)
    {
        var index = Array.FindIndex(_needles, n => content.AsSpan().IndexOf(n) >= 0);
        return index < 0 ? null : index == 0 ? "the password" : "the archive key";
    }

    /// <summary>Every file is read whole; a file removed while listing (a WAL segment recycled) is skipped.</summary>
    public async Task AssertAbsentFromFilesAsync(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            byte[] content;
            try
            {
                content = await File.ReadAllBytesAsync(file);
            }
            catch (IOException)
            {
                continue;
            }

            Assert.True(Holder(content) is null, $"{file} holds the secret ({Holder(content)})");
        }
    }
}
