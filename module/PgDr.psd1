@{
    RootModule           = 'PgDr.Cmdlets.dll'
    # Loaded first: it puts the engine and its dependencies (Dependencies/) in an AssemblyLoadContext of their own,
    # so they load beside whatever versions of Npgsql, Azure.Core or System.Text.Json the session already holds.
    NestedModules        = @('PgDr.Loader.dll')
    # Stamped at build time from Directory.Build.props (the one place the version lives).
    ModuleVersion        = '0.0.0'
    GUID                 = '5d0c7f3e-2b1a-4e8f-9c61-7a4b2d9e0f13'
    Author               = 'PgDr contributors'
    CompanyName          = 'PgDr'
    Copyright            = '(c) PgDr contributors. All rights reserved.'
    Description          = 'Disaster recovery for PostgreSQL: replication health and slots, WAL archiving to S3, Azure Blob and filesystems, verified base backups, and failover without split brain.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PgDr.format.ps1xml')
    TypesToProcess       = @('PgDr.types.ps1xml')
    CmdletsToExport      = @(
        'Get-PgDrNode'
        'Get-PgReplicationLag'
        'Get-PgReplicationSlot'
        'New-PgReplicationSlot'
        'Remove-PgReplicationSlot'
        'Test-PgReplicationSlot'
        'New-PgStandby'
        'Set-PgSynchronousReplication'
        'New-PgDrSandbox'
        'Get-PgDrSandbox'
        'Remove-PgDrSandbox'
        'Set-PgWalArchiving'
        'Test-PgWalArchiving'
        'Get-PgWalArchive'
        'Test-PgWalArchive'
        'Backup-PgCluster'
        'Get-PgBackup'
        'Restore-PgCluster'
        'Test-PgBackup'
        'Remove-PgBackup'
        'Install-PgDrExecutable'
        'New-PgWalRepository'
        'Invoke-PgFailover'
        'Invoke-PgSwitchover'
        'Join-PgCluster'
        'Get-PgDrLease'
        'Test-PgDrConfiguration'
        'Start-PgDrAgent'
        'Get-PgDrEvent'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            # Set before the first publish to the Gallery: the project's public address and licence (none is recorded
            # in the repository yet).
            ProjectUri   = 'https://github.com/pgdr/pgdr'
            LicenseUri   = 'https://github.com/pgdr/pgdr/blob/main/LICENSE'
            ReleaseNotes = 'First release: replication health and slots, the sandbox, WAL archiving to S3, Azure Blob and filesystems (push, fetch, verification), help and argument completion, dependencies isolated in their own AssemblyLoadContext.'
            Tags       = @('PostgreSQL', 'Postgres', 'DisasterRecovery', 'DR', 'Replication', 'Backup', 'WAL', 'Failover', 'Linux', 'Windows', 'PSEdition_Core')
        }
    }
}
