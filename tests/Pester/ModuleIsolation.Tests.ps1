#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# PgDr loads beside other modules' versions of its dependencies: a session of its own (ModuleIsolation.Session.ps1)
# loads and uses an older Npgsql and Azure.Core first, as another module would, then imports PgDr and runs cmdlets that
# use PostgreSQL, S3 (s3rver) and Azure Blob (Azurite). The engine and its dependencies live in PgDr's own
# AssemblyLoadContext (src/PgDr.Loader), so both versions work side by side.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    $modulePath = Get-PgDrModulePath
    Import-Module $modulePath -Force
    $work = New-PgDrTestDirectory -Label 'isolation'
    $s3 = Start-PgDrTestEmulator -Kind s3rver -BucketName 'pgdr-isolation'
    $azure = Start-PgDrTestEmulator -Kind azurite -BucketName 'pgdr-isolation'
    # The archiver (pgdr run by PostgreSQL, which the sandbox starts with this environment) and the cmdlets read the
    # credentials from these variables; the configuration only names them.
    $env:PGDR_PESTER_S3_KEY = 'S3RVER'
    $env:PGDR_PESTER_S3_SECRET = 'S3RVER'
    $env:PGDR_PESTER_AZURE = $azure.ConnectionString
    $configPath = Join-Path $work 'pgdr.json'
    @{
        stanza       = 'isolation'
        repositories = @(
            @{ name = 's3'; type = 's3'; bucket = 'pgdr-isolation'; prefix = 'pg'; region = 'us-east-1'; endpoint = $s3.Endpoint; forcePathStyle = $true
                accessKeyIdEnv = 'PGDR_PESTER_S3_KEY'; secretAccessKeyEnv = 'PGDR_PESTER_S3_SECRET' }
            @{ name = 'azure'; type = 'azure'; container = 'pgdr-isolation'; prefix = 'pg'; connectionStringEnv = 'PGDR_PESTER_AZURE' }
        )
        compression  = 'zstd'
    } | ConvertTo-Json -Depth 5 | Set-Content $configPath
    Grant-PostgresAccess $configPath
    $pgdr = Install-PgDrForPostgres -Directory $work
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 1 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false | Out-Null

    # The session reaches the sandbox as any PostgreSQL client would: the sandbox's pgpass file, the postgres user.
    $env:PGPASSFILE = $sandbox.PasswordFile
    $session = & (Get-PgDrPwshPath) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'ModuleIsolation.Session.ps1') `
        -ModulePath $modulePath -TestAssemblies (Join-Path (Split-Path (Get-PgDrPwshPath)) 'TestAssemblies') -Primary "postgresql://postgres@$primary" -ConfigPath $configPath 2>&1
    $sessionExit = $LASTEXITCODE
    Remove-Item Env:PGPASSFILE
    $result = if ($sessionExit -eq 0) { ($session | Out-String) | ConvertFrom-Json } else { $null }
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
    foreach ($emulator in @($s3, $azure)) { if ($emulator) { Stop-PgDrTestEmulator $emulator } }
    Remove-Item Env:PGDR_PESTER_S3_KEY, Env:PGDR_PESTER_S3_SECRET, Env:PGDR_PESTER_AZURE -ErrorAction SilentlyContinue
}

Describe 'PgDr in a session that already holds other versions of its dependencies' {
    It 'runs the whole session without a terminating error' {
        $sessionExit | Should -Be 0 -Because ($session | Out-String)
    }

    It 'keeps the other module''s Npgsql 8 and Azure.Core 1.38 in the default context, working before and after' {
        $result.OtherModuleNpgsqlPort | Should -Be 6543
        $result.OtherModuleAzureHeader | Should -Be 'x-other-module'
        $result.OtherModuleStillWorks | Should -Be 6544
        ($result.Npgsql | Where-Object Context -eq 'Default').Version | Should -Be '8.0.9.0'
        ($result.AzureCore | Where-Object Context -eq 'Default').Version | Should -Be '1.38.0.0'
    }

    It 'loads the engine and its own Npgsql, Azure.Core and System.Text.Json in the PgDr context' {
        $result.Engine.Context | Should -Be 'PgDr'
        ($result.Npgsql | Where-Object Context -eq 'PgDr').Version | Should -BeLike '10.*'
        ($result.AzureCore | Where-Object Context -eq 'PgDr').Version | Should -Not -BeNullOrEmpty
        ($result.SystemTextJson | Where-Object Context -eq 'PgDr') | Should -Not -BeNullOrEmpty
    }

    It 'reads the PostgreSQL primary and its standby' {
        $result.NodeRole | Should -Be 'Primary'
        $result.StandbyCount | Should -Be 1
    }

    It 'archives a forced switch into S3 and Azure and judges archiving healthy' {
        $result.ArchivingHealthy | Should -BeTrue -Because ($result.ArchivingReasons -join '; ')
    }

    It 'lists and reads back the archive in S3 and Azure' {
        $result.ArchiveRepositories | Should -Be @('azure', 's3')
        $result.ArchiveContinuous | Should -BeTrue
        $result.VerifiedRepositories | Should -Be @('azure', 's3')
        $result.VerifiedObjects | Should -BeGreaterThan 0
    }

    It 'still reports an unreachable node as a non-terminating HostUnreachable error' {
        $result.UnreachableErrorId | Should -BeLike 'HostUnreachable,*'
    }
}

Describe 'An engine assembly that cannot be loaded' {
    It 'is a ModuleLoadFailed error that -ErrorAction SilentlyContinue keeps non-terminating' {
        # A module folder whose Dependencies lack Npgsql (an interrupted copy): the first cmdlet that connects needs it.
        $broken = Join-Path $work 'broken module'
        Copy-Item (Split-Path $modulePath) $broken -Recurse
        Remove-Item (Join-Path $broken 'Dependencies/Npgsql.dll')
        $script = Join-Path $work 'broken.ps1'
        Set-Content $script @'
param($ModulePath)
Import-Module $ModulePath
Get-PgDrNode '127.0.0.1:1' -ErrorAction SilentlyContinue -ErrorVariable failed
"after: $($failed[0].FullyQualifiedErrorId) | $($failed[0].CategoryInfo.Category) | $($failed[0].TargetObject)"
'@
        $output = & (Get-PgDrPwshPath) -NoProfile -NonInteractive -File $script -ModulePath (Join-Path $broken 'PgDr.psd1') 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        "$output" | Should -Match 'after: ModuleLoadFailed,PgDr\.Cmdlets\.Topology\.GetPgDrNodeCommand \| NotInstalled \| Npgsql, Version='
    }
}
