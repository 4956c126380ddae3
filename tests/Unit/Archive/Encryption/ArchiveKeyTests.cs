using System.Security.Cryptography;
using System.Text;
using PgDr.Archive;
using PgDr.Archive.Encryption;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Encryption;

public sealed class ArchiveKeyTests : IDisposable
{
    private static readonly byte[] KeyBytes = Enumerable.Range(1, 32).Select(i => (byte)(i * 7)).ToArray();
    private readonly string _directory = Directory.CreateTempSubdirectory("pgdr-keys-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Key_file_with_mode_0600_holding_raw_bytes_is_read()
    {
        var path = WriteKeyFile(KeyBytes, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        using var key = ArchiveKey.FromFile(path);

        Assert.Equal(KeyBytes, key.Material.ToArray());
    }

    [Fact]
    public void Key_file_with_mode_0400_is_stricter_and_accepted()
    {
        var path = WriteKeyFile(KeyBytes, UnixFileMode.UserRead);

        using var key = ArchiveKey.FromFile(path);

        Assert.Equal(KeyBytes, key.Material.ToArray());
    }

    [Fact]
    public void Key_file_holding_base64_with_a_newline_is_read()
    {
        var path = WriteKeyFile(Encoding.ASCII.GetBytes(Convert.ToBase64String(KeyBytes) + "\n"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        using var key = ArchiveKey.FromFile(path);

        Assert.Equal(KeyBytes, key.Material.ToArray());
    }

    [Fact]
    public void Key_file_holding_hex_is_read()
    {
        var path = WriteKeyFile(Encoding.ASCII.GetBytes("  " + Convert.ToHexString(KeyBytes).ToLowerInvariant() + "\r\n"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        using var key = ArchiveKey.FromFile(path);

        Assert.Equal(KeyBytes, key.Material.ToArray());
    }

    [Theory]
    [InlineData(0b110_100_100)] // 0644
    [InlineData(0b110_110_000)] // 0660
    [InlineData(0b110_000_100)] // 0604
    [InlineData(0b111_000_000)] // 0700
    [InlineData(0b100_100_000)] // 0440
    public void Key_file_readable_beyond_its_owner_fails_with_KeyFileInsecure(int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permissions only.
        }

        var path = WriteKeyFile(KeyBytes, (UnixFileMode)mode);

        var ex = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromFile(path));

        Assert.Equal(ErrorIds.KeyFileInsecure, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.SecurityError, ex.Category);
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_key_file_fails_with_ArchiveKeyNotFound()
    {
        var ex = Assert.Throws<PgDrNotFoundException>(() => ArchiveKey.FromFile(Path.Combine(_directory, "absent.key")));

        Assert.Equal(ErrorIds.ArchiveKeyNotFound, ex.ErrorId);
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(0)]
    public void Key_file_of_the_wrong_size_fails_with_InvalidArchiveKey_without_showing_content(int length)
    {
        var content = Enumerable.Repeat((byte)'Q', length).ToArray();
        var path = WriteKeyFile(content, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var ex = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromFile(path));

        Assert.Equal(ErrorIds.InvalidArchiveKey, ex.ErrorId);
        Assert.DoesNotContain("QQQQ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_of_the_wrong_length_fails_with_InvalidArchiveKey()
    {
        var path = WriteKeyFile(Encoding.ASCII.GetBytes(Convert.ToBase64String(new byte[31])), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Equal(ErrorIds.InvalidArchiveKey, Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromFile(path)).ErrorId);
    }

    [Fact]
    public void Key_from_an_environment_variable_accepts_base64_and_hex()
    {
        var name = "PGDR_TEST_KEY_" + Guid.NewGuid().ToString("N");
        try
        {
            Environment.SetEnvironmentVariable(name, Convert.ToBase64String(KeyBytes));
            using (var key = ArchiveKey.FromEnvironment(name))
            {
                Assert.Equal(KeyBytes, key.Material.ToArray());
            }

            Environment.SetEnvironmentVariable(name, Convert.ToHexString(KeyBytes));
            using (var key = ArchiveKey.FromEnvironment(name))
            {
                Assert.Equal(KeyBytes, key.Material.ToArray());
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Unset_environment_variable_fails_with_ArchiveKeyNotFound()
    {
        var ex = Assert.Throws<PgDrNotFoundException>(() => ArchiveKey.FromEnvironment("PGDR_TEST_KEY_THAT_IS_NOT_SET"));

        Assert.Equal(ErrorIds.ArchiveKeyNotFound, ex.ErrorId);
    }

    [Fact]
    public void Environment_variable_with_raw_32_characters_is_not_a_key()
    {
        var name = "PGDR_TEST_KEY_" + Guid.NewGuid().ToString("N");
        try
        {
            Environment.SetEnvironmentVariable(name, new string('k', 32));
            var ex = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromEnvironment(name));
            Assert.Equal(ErrorIds.InvalidArchiveKey, ex.ErrorId);
            Assert.DoesNotContain("kkkk", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Key_never_appears_in_its_string_form()
    {
        var path = WriteKeyFile(Encoding.ASCII.GetBytes(Convert.ToBase64String(KeyBytes)), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var key = ArchiveKey.FromFile(path);

        var text = key.ToString();

        Assert.Contains(path, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(KeyBytes), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(KeyBytes), text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Key_from_secret_text_accepts_hex_in_either_case_and_base64_with_whitespace_around()
    {
        foreach (var text in new[] { Convert.ToHexString(KeyBytes), Convert.ToHexString(KeyBytes).ToLowerInvariant(), $" {Convert.ToBase64String(KeyBytes)}\r\n" })
        {
            using var key = ArchiveKey.FromSecret(text, "-EncryptionKey");
            Assert.Equal(KeyBytes, key.Material.ToArray());
        }
    }

    [Theory]
    [InlineData("not a key at all")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeZ")]
    [InlineData("")]
    public void Malformed_secret_text_fails_with_the_same_error_id_as_a_key_file_holding_it_and_never_shows_it(string secret)
    {
        var fromFile = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromFile(WriteKeyFile(Encoding.ASCII.GetBytes(secret), UnixFileMode.UserRead | UnixFileMode.UserWrite)));
        var fromSecret = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromSecret(secret, "-EncryptionKey"));

        Assert.Equal(ErrorIds.InvalidArchiveKey, fromFile.ErrorId);
        Assert.Equal(fromFile.ErrorId, fromSecret.ErrorId);
        Assert.Equal("-EncryptionKey", fromSecret.Target);
        if (secret.Length > 0)
        {
            Assert.DoesNotContain(secret, fromSecret.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Thirty_two_characters_of_secret_text_are_a_passphrase_not_a_raw_key()
    {
        var ex = Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromSecret("passphrase-of-exactly-32-chars!!", "-EncryptionKey"));

        Assert.Equal(ErrorIds.InvalidArchiveKey, ex.ErrorId);
        Assert.DoesNotContain("passphrase", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_ascii_secret_text_is_no_key()
    {
        var text = "\u00e9" + Convert.ToHexString(KeyBytes)[1..];

        Assert.Equal(ErrorIds.InvalidArchiveKey, Assert.Throws<PgDrArchiveException>(() => ArchiveKey.FromSecret(text, "-EncryptionKey")).ErrorId);
    }

    [Fact]
    public void A_key_from_secret_text_is_labelled_by_its_source_never_by_the_secret()
    {
        var secret = Convert.ToBase64String(KeyBytes);
        using var key = ArchiveKey.FromSecret(secret, "-EncryptionKey");

        Assert.Equal("-EncryptionKey", key.Source);
        Assert.DoesNotContain(secret, key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(KeyBytes), key.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Disposed_key_is_wiped_and_unusable()
    {
        var key = ArchiveKey.FromBytes(KeyBytes);
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.Material.ToArray());
    }

    [Fact]
    public void Generated_keys_differ()
    {
        using var a = ArchiveKey.Generate();
        using var b = ArchiveKey.Generate();

        Assert.False(CryptographicOperations.FixedTimeEquals(a.Material, b.Material));
    }

    private string WriteKeyFile(byte[] content, UnixFileMode mode)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllBytes(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }

        return path;
    }
}
