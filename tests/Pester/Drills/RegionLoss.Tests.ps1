#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# DR drill: region A fails while a writer is busy; region B takes over with a measured RTO and RPO, the lease moves,
# region C follows the new primary, and region A comes back through Join-PgCluster as a standby, never as a primary.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '..' 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'drill'
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 2 -Confirm:$false
    $a = $sandbox.Node('region-a').Instance
    $b = $sandbox.Node('region-b').Instance
    $c = $sandbox.Node('region-c').Instance
    $config = $sandbox.ConfigPath
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Region A lost' {
    It 'fails over to region-b with the old primary fenced, RPO measured and region-c repointed' {
        $result = Invoke-PgFailover $b -OldPrimary $a -Repoint $c -ConfigPath $config -Confirm:$false
        $result.OldPrimaryFenced | Should -BeTrue
        $result.FenceMethod | Should -Be 'Stopped'
        $result.RpoBytes | Should -Be 0
        $result.Rto | Should -BeGreaterThan ([TimeSpan]::Zero)
        ($result.Repointed | Where-Object Name -eq 'region-c').Streaming | Should -BeTrue
        (Get-PgDrLease -ConfigPath $config).Holder | Should -Be 'region-b'
        (Get-PgDrNode $b).Role | Should -Be 'Primary'
    }

    It 'brings region-a back as a standby of region-b' {
        $rejoined = Join-PgCluster -DataDirectory $sandbox.Node('region-a').DataDirectory -ConfigPath $config -Primary $b -Confirm:$false
        $rejoined.Streaming | Should -BeTrue
        (Get-PgDrNode $a).Role | Should -Be 'Standby'
    }
}
