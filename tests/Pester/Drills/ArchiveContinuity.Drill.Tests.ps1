#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
A DR drill to copy: the WAL archive of one primary can restore it to any point in time. It proves archiving works now
(a forced segment switch reaches every required repository), that no repository has a gap in the timelines a recovery
would replay, and that every archived object reads back with the key you hold.

Point it at your primary and configuration with environment variables; without them it builds a sandbox that archives
into a filesystem repository and drills that:
  PGDR_DRILL_PRIMARY    the primary (host:port, URI, connection string); credentials: PGUSER/PGPASSWORD/PGPASSFILE
  PGDR_DRILL_CONFIG     the PgDr configuration archive_command uses (default: $env:PGDR_CONFIG, /etc/pgdr/pgdr.json)
  PGDR_DRILL_DEADLINE   seconds a switched segment may take to reach every required repository (default 60)
The key comes from the configuration (keyFile/keyEnv); to drill with the key from SecretManagement instead, give
Test-PgWalArchive -EncryptionKey (Get-Secret -Name <your secret>) below.
#>

BeforeAll {
    # An installed PgDr (Install-Module PgDr) is used as it is; in this repository, the one the build made.
    if (-not (Get-Module PgDr)) {
        if (Get-Module PgDr -ListAvailable) { Import-Module PgDr }
        else { Import-Module (Join-Path $PSScriptRoot '../PgDrTestSupport.psm1'); Import-Module (Get-PgDrModulePath) }
    }
    $primary = $env:PGDR_DRILL_PRIMARY
    $configPath = $env:PGDR_DRILL_CONFIG ?? $env:PGDR_CONFIG
    $deadline = [timespan]::FromSeconds([double]($env:PGDR_DRILL_DEADLINE ?? 60))
    if (-not $primary) {
        Import-Module (Join-Path $PSScriptRoot '../PgDrTestSupport.psm1') -Force
        $drillWork = New-PgDrTestDirectory -Label 'drill-archive'
        $pgdr = Install-PgDrForPostgres -Directory $drillWork
        $repository = New-Item -ItemType Directory -Path (Join-Path $drillWork 'repo')
        $configPath = Join-Path $drillWork 'pgdr.json'
        @{ stanza = 'drill'; repositories = @(@{ name = 'local'; type = 'filesystem'; path = $repository.FullName }); compression = 'lz4' } |
            ConvertTo-Json -Depth 4 | Set-Content $configPath
        Grant-PostgresAccess $repository.FullName, $configPath
        $primary = (New-PgDrSandbox -Path (Join-Path $drillWork 'sandbox') -StandbyCount 0 -Confirm:$false).Primary.Instance
        Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false | Out-Null
    }
}

AfterAll {
    if ($drillWork) {
        Remove-PgDrSandbox -Path (Join-Path $drillWork 'sandbox') -Confirm:$false
        Remove-Item $drillWork -Recurse -Force
    }
}

Describe 'WAL archive continuity' {
    It 'archives a forced segment switch into every required repository within the deadline' {
        $health = Test-PgWalArchiving $primary -ForceSwitch -Deadline $deadline -ConfigPath $configPath
        $health.Healthy | Should -BeTrue -Because ($health.Reasons -join '; ')
    }

    It 'has no gap in any repository''s timelines' {
        $timelines = @(Get-PgWalArchive -ConfigPath $configPath)
        $timelines | Should -Not -BeNullOrEmpty
        foreach ($timeline in $timelines) {
            $timeline.Continuous | Should -BeTrue -Because "$($timeline.Repository) timeline $($timeline.Timeline) misses $($timeline.Gaps -join ', ')"
        }
    }

    It 'reads every archived object back as a restore would' {
        foreach ($result in Test-PgWalArchive -ConfigPath $configPath) {
            $result.Readable | Should -BeTrue -Because (($result.Failures | ForEach-Object { "$($_.WalFileName): $($_.ErrorId)" }) + $result.Error -join '; ')
            $result.VerifiedCount | Should -BeGreaterThan 0
        }
    }
}
