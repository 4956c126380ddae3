@{
    RootModule           = 'PgDr.Cmdlets.dll'
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
    CmdletsToExport      = @(
        'Get-PgDrNode'
        'Get-PgReplicationLag'
        'Get-PgReplicationSlot'
        'New-PgReplicationSlot'
        'Remove-PgReplicationSlot'
        'Test-PgReplicationSlot'
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
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('PostgreSQL', 'Postgres', 'DisasterRecovery', 'DR', 'Replication', 'Backup', 'WAL', 'Failover', 'Linux', 'Windows', 'PSEdition_Core')
        }
    }
}
