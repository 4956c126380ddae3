<#
.SYNOPSIS
    The session ModuleIsolation.Tests.ps1 starts in a pwsh of its own: another module's versions of PgDr's dependencies
    are loaded and used first, then PgDr is imported and run against PostgreSQL, S3 and Azure. Writes one JSON object.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestAssemblies,
    [Parameter(Mandatory)] [string] $Primary,
    [Parameter(Mandatory)] [string] $ConfigPath
)
$ErrorActionPreference = 'Stop'

function Describe-Assembly([string] $Name) {
    @([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name } | ForEach-Object {
            [pscustomobject]@{ Version = $_.GetName().Version.ToString(); Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
        })
}

# As another module would: an older Npgsql and Azure.Core in the default context, in use before PgDr arrives.
Add-Type -Path (Join-Path $TestAssemblies 'Npgsql-8.0.9/Npgsql.dll')
Add-Type -Path (Join-Path $TestAssemblies 'Azure.Core-1.38.0/Azure.Core.dll')
$before = [Npgsql.NpgsqlConnectionStringBuilder]::new("Host=other-module;Port=6543").Port
$azureBefore = [Azure.Core.HttpHeader]::new('x-other-module', '1').Name

Import-Module $ModulePath
$errors = @()
$node = Get-PgDrNode $Primary
$lag = @(Get-PgReplicationLag $Primary)
# The forced switch reaches S3 and Azure through archive_command, then the session lists and reads it from both.
$archiving = Test-PgWalArchiving $Primary -ForceSwitch -Deadline 00:02:00 -ConfigPath $ConfigPath
$archive = @(Get-PgWalArchive -ConfigPath $ConfigPath)
$verified = @(Test-PgWalArchive -ConfigPath $ConfigPath)
# A failure must stay an ordinary error: a node that cannot be reached, under SilentlyContinue.
Get-PgDrNode '127.0.0.1:1' -ErrorAction SilentlyContinue -ErrorVariable +errors

[pscustomobject]@{
    OtherModuleNpgsqlPort    = $before
    OtherModuleAzureHeader   = $azureBefore
    OtherModuleStillWorks    = [Npgsql.NpgsqlConnectionStringBuilder]::new("Host=after;Port=6544").Port
    NodeRole                 = "$($node.Role)"
    StandbyCount             = $lag.Count
    ArchiveRepositories      = @($archive.Repository | Sort-Object -Unique)
    ArchiveContinuous        = @($archive | Where-Object { -not $_.Continuous }).Count -eq 0
    VerifiedRepositories     = @($verified | Where-Object Readable | ForEach-Object Repository | Sort-Object)
    VerifiedObjects          = ($verified | Measure-Object VerifiedCount -Sum).Sum
    ArchivingHealthy         = $archiving.Healthy
    ArchivingReasons         = @($archiving.Reasons)
    UnreachableErrorId       = $errors[0].FullyQualifiedErrorId
    Npgsql                   = Describe-Assembly 'Npgsql'
    AzureCore                = Describe-Assembly 'Azure.Core'
    SystemTextJson           = Describe-Assembly 'System.Text.Json'
    Engine                   = Describe-Assembly 'PgDr.Core'
} | ConvertTo-Json -Depth 4
