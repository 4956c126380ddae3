using Azure.Storage.Blobs;
using PgDr.Archive.Repositories;

namespace PgDr.Tests.Fixtures;

/// <summary>A real Azurite (Azure Blob emulator) on a free loopback port with one container, shared by the Azure tests.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>Azurite's well-known development account (public, documented by Microsoft).</summary>
    public const string Account = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string Container = "pgdr-test";

    private EmulatorProcess? _emulator;

    public string BlobEndpoint => $"http://127.0.0.1:{(_emulator ?? throw new InvalidOperationException("Azurite is not running.")).Port}/{Account}";

    public string ConnectionString(string? accountKey = null) =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={accountKey ?? AccountKey};BlobEndpoint={BlobEndpoint};";

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartAsync(
            "azurite-blob",
            (port, directory) =>
            [
                "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", directory,
                "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent",
            ],
            TimeSpan.FromSeconds(120)); // node start-up on 2 busy cores took over 30 s
        try
        {
            await new BlobContainerClient(ConnectionString(), Container).CreateIfNotExistsAsync();
        }
        catch
        {
            // xunit does not dispose a fixture whose initialisation failed: stop the emulator here.
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A repository on the shared container under a prefix of its own, so tests never see each other's objects.</summary>
    public AzureBlobArchiveRepository NewRepository(string? container = null, string? accountKey = null) =>
        new(new AzureBlobRepositoryOptions
        {
            Name = "azure-test",
            Container = container ?? Container,
            Prefix = "t-" + Guid.NewGuid().ToString("N")[..12],
            ConnectionString = ConnectionString(accountKey),
        });

    public async Task DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
