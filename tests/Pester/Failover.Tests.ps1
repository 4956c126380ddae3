#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The failover cmdlets on a real sandbox: the lease, -WhatIf that changes nothing, a switchover there and back,
# and the refusals a runbook relies on (error ids, not messages).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'failover'
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 1 -Confirm:$false
    $a = $sandbox.Node('region-a').Instance
    $b = $sandbox.Node('region-b').Instance
    $config = $sandbox.ConfigPath
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Get-PgDrLease' {
    It 'writes nothing before any failover or switchover took the lease' {
        Get-PgDrLease -ConfigPath $config | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-PgFailover -WhatIf' {
    It 'changes nothing, even with -Force' {
        Invoke-PgFailover $b -OldPrimary $a -ConfigPath $config -Force -WhatIf
        (Get-PgDrNode $b).Role | Should -Be 'Standby'
        (Get-PgDrNode $a).Role | Should -Be 'Primary'
        Get-PgDrLease -ConfigPath $config | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-PgFailover refusals' {
    It 'refuses the primary itself with NodeIsPrimary, changing nothing' {
        $failure = $null
        try { Invoke-PgFailover $a -ConfigPath $config -Force -Confirm:$false } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'NodeIsPrimary,*'
        (Get-PgDrNode $a).Role | Should -Be 'Primary'
    }
}

Describe 'Invoke-PgSwitchover' {
    It 'switches to region-b and back, each time with the old primary streaming and the lease handed over' {
        $there = Invoke-PgSwitchover $b -ConfigPath $config -Confirm:$false
        $there.NewPrimary | Should -Be 'region-b'
        $there.OldPrimaryStreaming | Should -BeTrue
        (Get-PgDrLease -ConfigPath $config).Holder | Should -Be 'region-b'

        $back = Invoke-PgSwitchover $a -ConfigPath $config -Confirm:$false
        $back.NewPrimary | Should -Be 'region-a'
        $back.OldPrimaryStreaming | Should -BeTrue
        $lease = Get-PgDrLease -ConfigPath $config
        $lease.Holder | Should -Be 'region-a'
        $lease.Generation | Should -Be 2
        ($back.Steps | Where-Object CountsTowardsRto).Count | Should -BeGreaterThan 2
    }
}
