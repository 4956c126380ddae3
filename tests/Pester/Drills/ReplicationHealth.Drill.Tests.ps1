#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
A DR drill to copy: the replication layer of one primary, as Describe/It blocks a team runs on a schedule and reads
as a report (Invoke-Pester -Output Detailed, or -CI for a JUnit file).

Point it at your primary with environment variables; without them it builds a sandbox and drills that:
  PGDR_DRILL_PRIMARY          the primary (host:port, URI, connection string); credentials: PGUSER/PGPASSWORD/PGPASSFILE
  PGDR_DRILL_STANDBYS         how many standbys must stream from it (default 1)
  PGDR_DRILL_MAX_LAG_BYTES    byte lag above which a standby fails the drill (default 16 MB)
  PGDR_DRILL_MAX_LAG_SECONDS  time lag above which a standby fails the drill (default 30)
  PGDR_DRILL_MAX_SLOT_BYTES   WAL a slot may hold back (default 10 GB)
#>

BeforeAll {
    # An installed PgDr (Install-Module PgDr) is used as it is; in this repository, the one the build made.
    if (-not (Get-Module PgDr)) {
        if (Get-Module PgDr -ListAvailable) { Import-Module PgDr }
        else { Import-Module (Join-Path $PSScriptRoot '../PgDrTestSupport.psm1'); Import-Module (Get-PgDrModulePath) }
    }
    $primary = $env:PGDR_DRILL_PRIMARY
    if (-not $primary) {
        Import-Module (Join-Path $PSScriptRoot '../PgDrTestSupport.psm1') -Force
        $drillSandbox = Join-Path (New-PgDrTestDirectory -Label 'drill-replication') 'sandbox'
        $primary = (New-PgDrSandbox -Path $drillSandbox -StandbyCount 1 -Confirm:$false).Primary.Instance
    }
    $expectedStandbys = [int]($env:PGDR_DRILL_STANDBYS ?? 1)
    $maxLagBytes = [long]($env:PGDR_DRILL_MAX_LAG_BYTES ?? 16MB)
    $maxLag = [timespan]::FromSeconds([double]($env:PGDR_DRILL_MAX_LAG_SECONDS ?? 30))
    $maxSlotBytes = [long]($env:PGDR_DRILL_MAX_SLOT_BYTES ?? 10GB)
    $node = Get-PgDrNode $primary -ErrorAction Stop
}

AfterAll {
    if ($drillSandbox) { Remove-PgDrSandbox -Path $drillSandbox -Confirm:$false; Remove-Item (Split-Path $drillSandbox) -Recurse -Force }
}

Describe 'Replication health of the primary' {
    It 'is a primary (not in recovery)' {
        "$($node.Role)" | Should -Be 'Primary'
    }

    It 'has every expected standby connected and streaming' {
        $streaming = @(Get-PgReplicationLag $node | Where-Object State -eq 'streaming')
        $streaming.Count | Should -BeGreaterOrEqual $expectedStandbys -Because "standbys seen: $((Get-PgReplicationLag $node).StandbyName -join ', ')"
    }

    It 'has every standby within the lag limits' {
        foreach ($lag in Get-PgReplicationLag $node -MaxLagBytes $maxLagBytes -MaxLag $maxLag) {
            $lag.Healthy | Should -BeTrue -Because "$($lag.StandbyName): $($lag.Reasons -join '; ')"
        }
    }

    It 'has no replication slot that endangers its disk' {
        foreach ($slot in Test-PgReplicationSlot $node -MaxRetainedBytes $maxSlotBytes) {
            $slot.Healthy | Should -BeTrue -Because "$($slot.SlotName): $($slot.Reasons -join '; ')"
        }
    }

    It 'streams every standby through a replication slot' {
        foreach ($lag in Get-PgReplicationLag $node) {
            $lag.SlotName | Should -Not -BeNullOrEmpty -Because "$($lag.StandbyName) should stream through a slot, so the primary keeps the WAL it needs"
        }
    }
}
