using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Transfer;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Proves the WAL archive can be restored with the key you hold: reads every archived WAL object back and checks it as a restore would, writing nothing.</para>
/// <para type="description">Checks each object's authentication (or whole-object checksum), decompression, content checksum, length and the file name it holds.
/// A damaged object is listed in Failures and the others are still read. The key is the configuration's keyFile/keyEnv unless -EncryptionKey gives one.
/// Test-PgWalArchiving judges the archiving process; this judges the archived content.</para>
/// <example><code>Test-PgWalArchive -ConfigPath /etc/pgdr/pgdr.json -EncryptionKey (Get-Secret -Name pgdr-archive-key)</code></example>
/// <example><code>if (-not (Test-PgWalArchive -Quiet)) { throw 'the WAL archive cannot be restored' }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PgWalArchive")]
[OutputType(typeof(PgWalArchiveVerification), typeof(bool))]
[PgDrCliCommand("wal verify")]
public sealed class TestPgWalArchiveCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    /// <summary>Only this repository (by its name in the configuration).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    /// <summary>
    /// The archive key (64 hex digits or base64 of 32 bytes), in place of the configuration's keyFile/keyEnv.
    /// From SecretManagement: -EncryptionKey (Get-Secret -Name pgdr-archive-key).
    /// </summary>
    [Parameter]
    public SecureString? EncryptionKey { get; set; }

    /// <summary>Return one bool: true when every object of every repository verified.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void EndProcessing()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        if (EncryptionKey is null && MyInvocation.BoundParameters.ContainsKey(nameof(EncryptionKey)))
        {
            ThrowTerminatingError(ToErrorRecord(ArchiveKey.Missing("-EncryptionKey")));
        }

        using var key = EncryptionKey is null ? null : ToArchiveKey(EncryptionKey);
        var results = RunOrTerminate((progress, ct) => WalArchiveVerifier.VerifyAsync(PgDrConfig.Load(path), new WalArchiveVerifyOptions { Repository = Repository, Key = key }, progress, ct));
        foreach (var result in results)
        {
            if (result.Exception is not null)
            {
                // One repository out of reach is that repository's error; the others' results still come.
                WriteError(ToErrorRecord(result.Exception));
            }

            if (!Quiet)
            {
                WriteObject(result);
            }
        }

        if (Quiet)
        {
            WriteObject(results.All(r => r.Readable));
        }
    }

    /// <summary>
    /// Decodes the SecureString in unmanaged memory and a pinned buffer, both wiped at once, so the secret never
    /// becomes a managed string the GC could copy and leave behind.
    /// </summary>
    private ArchiveKey ToArchiveKey(SecureString secret)
    {
        var unmanaged = Marshal.SecureStringToGlobalAllocUnicode(secret);
        var chars = GC.AllocateArray<char>(secret.Length, pinned: true);
        try
        {
            Marshal.Copy(unmanaged, chars, 0, chars.Length);
            return ArchiveKey.FromSecret(chars, "-EncryptionKey");
        }
        catch (PgDr.Errors.PgDrException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
            throw; // not reached: ThrowTerminatingError always throws
        }
        finally
        {
            Array.Clear(chars);
            Marshal.ZeroFreeGlobalAllocUnicode(unmanaged);
        }
    }
}
